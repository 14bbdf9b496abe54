// process/log_file.h on Windows: CreateFileW for appending (FILE_APPEND_DATA), refusing a reparse point (a symbolic
// link or junction planted where the log goes), shared for reading so the user can look at it while it grows.
#include <windows.h>

#include "platform/utf16.h"
#include "process/log_file.h"

namespace llmdesk::process {

intptr_t OpenLogFile(const std::filesystem::path& file, bool truncate, LogFileError& error) {
  // FILE_FLAG_OPEN_REPARSE_POINT opens a link itself instead of its target, so it can be recognised and refused.
  HANDLE h = CreateFileW(file.c_str(), FILE_APPEND_DATA | (truncate ? GENERIC_WRITE : 0),
                         FILE_SHARE_READ | FILE_SHARE_DELETE, nullptr, OPEN_ALWAYS,
                         FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    error.reason = platform::ErrorText(GetLastError());
    return -1;
  }
  BY_HANDLE_FILE_INFORMATION info{};
  if (GetFileInformationByHandle(h, &info) && (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
    CloseHandle(h);
    error.reason = "a reparse point";
    error.what_to_do = "it is a symbolic link or junction, and llmdesk never writes through one; remove it";
    return -1;
  }
  if (truncate) {
    FILE_END_OF_FILE_INFO end{};  // size 0
    SetFileInformationByHandle(h, FileEndOfFileInfo, &end, sizeof(end));
  }
  return reinterpret_cast<intptr_t>(h);
}

size_t WriteLogFile(intptr_t handle, std::string_view data) {
  DWORD written = 0;
  if (!WriteFile(reinterpret_cast<HANDLE>(handle), data.data(), static_cast<DWORD>(data.size()), &written, nullptr))
    return 0;
  return written;
}

void CloseLogFile(intptr_t handle) {
  if (handle != -1) CloseHandle(reinterpret_cast<HANDLE>(handle));
}

}  // namespace llmdesk::process
