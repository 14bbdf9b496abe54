// mcp/stdio_io.h on Windows: a pipe (or console, or file) handle cannot be waited on for data, so the reading thread
// blocks in ReadFile and a watcher thread cancels that read (CancelSynchronousIo) once `stop` is true. Bytes are
// read and written with ReadFile/WriteFile on the fds' handles: the C runtime's text mode would turn "\n" into
// "\r\n".
#include <windows.h>

#include <io.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "mcp/stdio_io.h"
#include "platform/utf16.h"

namespace llmdesk::mcp {

struct InputReader::State {
  HANDLE input = INVALID_HANDLE_VALUE;
  HANDLE reader_thread = nullptr;  // the thread that made the reader: the one whose read a stop cancels
  const std::atomic<bool>* stop = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // the reader is going away: the watcher ends
  std::thread watcher;
};

InputReader::InputReader(int in_fd, const std::atomic<bool>* stop) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.input = reinterpret_cast<HANDLE>(_get_osfhandle(in_fd));
  s.stop = stop;
  if (!stop) return;
  DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &s.reader_thread, 0, FALSE,
                  DUPLICATE_SAME_ACCESS);
  // `stop` is a plain flag nobody notifies on: looked at 5 times a second, as the POSIX side's poll does. Once it is
  // true the read is cancelled each time, so a read that began just after a cancel is cancelled too.
  s.watcher = std::thread([&s] {
    std::unique_lock lock(s.mu);
    while (!s.cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return s.done; }))
      if (s.stop->load() && s.reader_thread) CancelSynchronousIo(s.reader_thread);
  });
}

InputReader::~InputReader() {
  State& s = *state_;
  if (s.watcher.joinable()) {
    {
      std::lock_guard lock(s.mu);
      s.done = true;
    }
    s.cv.notify_all();
    s.watcher.join();
  }
  if (s.reader_thread) CloseHandle(s.reader_thread);
}

Result<size_t> InputReader::Read(char* buffer, size_t size) {
  State& s = *state_;
  if (s.input == INVALID_HANDLE_VALUE) return Status::IoError("stdin is not open");
  if (s.stop && s.stop->load()) return size_t{0};
  DWORD got = 0;
  if (ReadFile(s.input, buffer, static_cast<DWORD>(size), &got, nullptr)) return static_cast<size_t>(got);  // 0: EOF
  const DWORD error = GetLastError();
  // The writer closed its end (end of input), or the watcher cancelled the read (stop).
  if (error == ERROR_BROKEN_PIPE || error == ERROR_HANDLE_EOF || error == ERROR_OPERATION_ABORTED ||
      error == ERROR_NO_DATA)
    return size_t{0};
  return Status::IoError("reading stdin: " + platform::ErrorText(error));
}

bool WriteAll(int out_fd, std::string_view data) {
  const HANDLE output = reinterpret_cast<HANDLE>(_get_osfhandle(out_fd));
  if (output == INVALID_HANDLE_VALUE) return false;
  while (!data.empty()) {
    DWORD written = 0;
    if (!WriteFile(output, data.data(), static_cast<DWORD>(data.size()), &written, nullptr) || written == 0)
      return false;
    data.remove_prefix(written);
  }
  return true;
}

}  // namespace llmdesk::mcp
