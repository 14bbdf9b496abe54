// mcp/stdio_io.h — RunStdio's two ends (private to src/mcp), one implementation per system (stdio_io_posix.cpp:
// poll/read/write; stdio_io_win32.cpp: ReadFile/WriteFile on the fds' handles, with no CRLF translation).
#pragma once

#include <atomic>
#include <memory>
#include <string_view>

#include "common/status.h"

namespace llmdesk::mcp {

// Reads what `in_fd` has, waiting for it, and gives up once `stop` is true (looked at at least 5 times a second).
// Created and used by one thread (on Windows the one whose blocking read a stop cancels).
class InputReader {
 public:
  InputReader(int in_fd, const std::atomic<bool>* stop);
  ~InputReader();
  InputReader(const InputReader&) = delete;
  InputReader& operator=(const InputReader&) = delete;
  // The number of bytes read into `buffer`; 0 at end of input or once stopped; IoError when reading fails.
  Result<size_t> Read(char* buffer, size_t size);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Writes all of `data` to `out_fd`; false when the reader went away (or another error).
bool WriteAll(int out_fd, std::string_view data);

}  // namespace llmdesk::mcp
