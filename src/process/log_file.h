// process/log_file.h — LineLog's file (private to src/process), one implementation per system
// (line_log_file_posix.cpp, line_log_file_win32.cpp): opened for appending, never through a symbolic link.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace llmdesk::process {

// Opens `file` for appending (created 0600 on POSIX; `truncate` empties it). The handle (an fd or a HANDLE), or -1
// with `why` set to what went wrong and what to do (the LineLog ring shows it).
intptr_t OpenLogFile(const std::filesystem::path& file, bool truncate, std::string& why);
size_t WriteLogFile(intptr_t handle, std::string_view data);  // the bytes written; 0 on an error
void CloseLogFile(intptr_t handle);                           // -1 is ignored

}  // namespace llmdesk::process
