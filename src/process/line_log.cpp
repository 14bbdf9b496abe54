// process/process.h's LineLog: the ring and the file's rotation; opening and writing the file is per system
// (log_file.h).
#include <algorithm>
#include <system_error>
#include <utility>

#include "platform/user_dirs.h"
#include "process/log_file.h"
#include "process/process.h"

namespace llmdesk::process {
namespace {

// The ring's line when the file cannot be opened: whoever reads the log (llmdesk logs, the API, the desktop app)
// learns why the file stays empty instead of finding nothing.
std::string NotWrittenLine(const std::filesystem::path& file, const LogFileError& error) {
  return "llmdesk: the log file " + platform::PathToUtf8(file) + " is not written (" + error.reason + ")" +
         (error.what_to_do.empty() ? "" : ": " + error.what_to_do);
}

}  // namespace

LineLog::LineLog(size_t max_lines, std::filesystem::path file, size_t max_file_bytes)
    : max_lines_(std::max<size_t>(1, max_lines)), file_(std::move(file)), max_file_bytes_(max_file_bytes) {
  if (file_.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(file_.parent_path(), ec);
  LogFileError why;
  file_handle_ = OpenLogFile(file_, /*truncate=*/false, why);
  if (file_handle_ != -1) {
    auto size = std::filesystem::file_size(file_, ec);
    file_bytes_ = ec ? 0 : static_cast<size_t>(size);
  } else {
    ring_.push_back(NotWrittenLine(file_, why));
  }
}

LineLog::~LineLog() { CloseLogFile(file_handle_); }

void LineLog::Add(std::string line) {
  std::lock_guard lock(mu_);
  WriteToFile(line);
  ring_.push_back(std::move(line));
  while (ring_.size() > max_lines_) ring_.pop_front();
}

std::vector<std::string> LineLog::Tail(size_t lines) const {
  std::lock_guard lock(mu_);
  size_t n = std::min(lines, ring_.size());
  return {ring_.end() - static_cast<std::ptrdiff_t>(n), ring_.end()};
}

// Called with mu_ held. A log file that cannot be written never stops the ring (or the engine).
void LineLog::WriteToFile(const std::string& line) {
  if (file_handle_ == -1) return;
  if (file_bytes_ + line.size() + 1 > max_file_bytes_ && file_bytes_ > 0) {
    // Closed first: Windows renames no file that is open without FILE_SHARE_DELETE (ours shares it; a reader's may not).
    CloseLogFile(std::exchange(file_handle_, -1));
    std::error_code ec;
    std::filesystem::path rotated = file_;
    rotated += ".1";
    std::filesystem::rename(file_, rotated, ec);
    // Not rotated (a reader holds it without FILE_SHARE_DELETE, a full disk...): keep appending rather than empty
    // what was not moved away, and try again another max_file_bytes_ later; past twice the cap it is emptied after
    // all, so the file stays bounded.
    const bool empty_it = !ec || unrotated_bytes_ + file_bytes_ > max_file_bytes_;
    unrotated_bytes_ = empty_it ? 0 : unrotated_bytes_ + file_bytes_;
    LogFileError why;
    file_handle_ = OpenLogFile(file_, /*truncate=*/empty_it, why);
    file_bytes_ = 0;
    if (file_handle_ == -1) {
      ring_.push_back(NotWrittenLine(file_, why));
      return;
    }
  }
  file_bytes_ += WriteLogFile(file_handle_, line + "\n");
}

}  // namespace llmdesk::process
