// process/log_file.h — LineLog's file (private to src/process), one implementation per system
// (line_log_file_posix.cpp, line_log_file_win32.cpp): opened for appending, never through a symbolic link.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace llmdesk::process {

// Why a log file could not be opened: the system's reason, and what to do when there is more to say than that.
struct LogFileError {
  std::string reason;
  std::string what_to_do;
};

// Opens `file` for appending (created 0600 on POSIX; `truncate` empties it). The handle (an fd or a HANDLE), or -1
// with `error` set (the LineLog ring shows it).
intptr_t OpenLogFile(const std::filesystem::path& file, bool truncate, LogFileError& error);
size_t WriteLogFile(intptr_t handle, std::string_view data);  // the bytes written; 0 on an error
void CloseLogFile(intptr_t handle);                           // -1 is ignored

}  // namespace llmdesk::process
