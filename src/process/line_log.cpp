#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "process/process.h"

namespace llmdesk::process {
namespace {

// The ring's line when the file cannot be opened: whoever reads the log (llmdesk logs, the API, the desktop app)
// learns why the file stays empty instead of finding nothing.
std::string NotWrittenLine(const std::filesystem::path& file, int error) {
  std::string line = "llmdesk: the log file " + file.string() + " is not written (" + std::strerror(error) + ")";
  if (error == ELOOP) line += ": it is a symbolic link, and llmdesk never writes through one; remove it";
  return line;
}

}  // namespace

LineLog::LineLog(size_t max_lines, std::filesystem::path file, size_t max_file_bytes)
    : max_lines_(std::max<size_t>(1, max_lines)), file_(std::move(file)), max_file_bytes_(max_file_bytes) {
  if (file_.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(file_.parent_path(), ec);
  const int fd = open(file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  const int open_error = errno;
  fd_.reset(fd);
  if (fd_.valid()) {
    auto size = std::filesystem::file_size(file_, ec);
    file_bytes_ = ec ? 0 : static_cast<size_t>(size);
  } else {
    ring_.push_back(NotWrittenLine(file_, open_error));
  }
}

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
  if (!fd_.valid()) return;
  if (file_bytes_ + line.size() + 1 > max_file_bytes_ && file_bytes_ > 0) {
    std::error_code ec;
    std::filesystem::rename(file_, file_.string() + ".1", ec);
    const int fd = open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    const int open_error = errno;
    fd_.reset(fd);
    file_bytes_ = 0;
    if (!fd_.valid()) {
      ring_.push_back(NotWrittenLine(file_, open_error));
      return;
    }
  }
  std::string record = line + "\n";
  ssize_t n = write(fd_.get(), record.data(), record.size());
  if (n > 0) file_bytes_ += static_cast<size_t>(n);
}

}  // namespace llmdesk::process
