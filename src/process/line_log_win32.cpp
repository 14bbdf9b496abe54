// LineLog's file on Windows (the ring is the same code as line_log.cpp's): appended with FILE_APPEND_DATA, opened
// so that a reparse point is seen and refused (never written through), rotated with MoveFileExW.
#include <windows.h>

#include <algorithm>

#include "platform/user_dirs.h"
#include "platform/utf16.h"
#include "process/process.h"

namespace llmdesk::process {
namespace {

// Opens `file` for appending (creating it); INVALID_HANDLE_VALUE with `why` when it cannot or must not be written.
HANDLE OpenAppend(const std::filesystem::path& file, bool truncate, std::string& why) {
  HANDLE h = CreateFileW(file.c_str(), FILE_APPEND_DATA | (truncate ? GENERIC_WRITE : 0) | FILE_READ_ATTRIBUTES,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                         truncate ? CREATE_ALWAYS : OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT,
                         nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    why = platform::ErrorText(GetLastError());
    return h;
  }
  BY_HANDLE_FILE_INFORMATION info{};
  if (!GetFileInformationByHandle(h, &info) || (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
    CloseHandle(h);
    why = "it is a symbolic link or junction, and llmdesk never writes through one; remove it";
    return INVALID_HANDLE_VALUE;
  }
  return h;
}

std::string NotWrittenLine(const std::filesystem::path& file, const std::string& why) {
  return "llmdesk: the log file " + platform::PathToUtf8(file) + " is not written (" + why + ")";
}

}  // namespace

LineLog::LineLog(size_t max_lines, std::filesystem::path file, size_t max_file_bytes)
    : max_lines_(std::max<size_t>(1, max_lines)), file_(std::move(file)), max_file_bytes_(max_file_bytes) {
  if (file_.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(file_.parent_path(), ec);
  std::string why;
  HANDLE h = OpenAppend(file_, false, why);
  if (h == INVALID_HANDLE_VALUE) {
    ring_.push_back(NotWrittenLine(file_, why));
    return;
  }
  file_handle_ = h;
  LARGE_INTEGER size{};
  file_bytes_ = GetFileSizeEx(h, &size) ? static_cast<size_t>(size.QuadPart) : 0;
}

LineLog::~LineLog() {
  if (file_handle_ != nullptr) CloseHandle(file_handle_);
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
  if (file_handle_ == nullptr) return;
  if (file_bytes_ + line.size() + 1 > max_file_bytes_ && file_bytes_ > 0) {
    CloseHandle(file_handle_);  // closed first: the rename must not depend on our own sharing flags
    file_handle_ = nullptr;
    std::filesystem::path older = file_;
    older += L".1";
    MoveFileExW(file_.c_str(), older.c_str(), MOVEFILE_REPLACE_EXISTING);
    std::string why;
    HANDLE h = OpenAppend(file_, true, why);
    file_bytes_ = 0;
    if (h == INVALID_HANDLE_VALUE) {
      ring_.push_back(NotWrittenLine(file_, why));
      return;
    }
    file_handle_ = h;
  }
  const std::string record = line + "\n";
  DWORD written = 0;
  if (WriteFile(file_handle_, record.data(), static_cast<DWORD>(record.size()), &written, nullptr))
    file_bytes_ += written;
}

}  // namespace llmdesk::process
