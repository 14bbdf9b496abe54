// process/line_splitter.h — output bytes as lines (private to src/process): the one rule Child's POSIX and Windows
// sides share. "\n" or "\r" ends a line (so "\r\n" and progress lines redrawn with "\r" both come out as lines),
// empty lines are dropped, a line longer than kMaxLineBytes is cut into pieces, and at EOF the partial rest is
// delivered too.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace llmdesk::process {

inline constexpr size_t kMaxLineBytes = 16 * 1024;  // a longer "line" (progress dots) is cut into pieces

// Calls on_line for every complete line in `partial` and keeps only the bytes after the last line end.
inline void TakeLines(std::string& partial, bool at_eof, const std::function<void(std::string_view)>& on_line) {
  size_t start = 0;
  for (size_t i = 0; i < partial.size(); ++i) {
    if (partial[i] != '\n' && partial[i] != '\r') continue;
    if (i > start) on_line(std::string_view(partial).substr(start, i - start));
    start = i + 1;
  }
  partial.erase(0, start);
  while (partial.size() >= kMaxLineBytes) {
    on_line(std::string_view(partial).substr(0, kMaxLineBytes));
    partial.erase(0, kMaxLineBytes);
  }
  if (at_eof && !partial.empty()) on_line(partial), partial.clear();
}

}  // namespace llmdesk::process
