// manager/log_tail.h — private to src/manager: what TailLogFile (log_files_{posix,win32}.cpp) makes of the bytes it
// read from a log's end, the same on both systems.
#pragma once

#include <string>
#include <vector>

namespace llmdesk::manager {

// The last `lines` lines of `tail`, the final bytes of a log; when `starts_mid_file` its first piece may be a
// partial line and is dropped. A last line without '\n' counts.
std::vector<std::string> TailLines(const std::string& tail, bool starts_mid_file, size_t lines);

}  // namespace llmdesk::manager
