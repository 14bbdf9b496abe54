// mcp/stdio_io.h on POSIX: poll with a 200 ms timeout (to look at `stop`), read, write.
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "mcp/stdio_io.h"

namespace llmdesk::mcp {

struct InputReader::State {
  int fd;
  const std::atomic<bool>* stop;
};

InputReader::InputReader(int in_fd, const std::atomic<bool>* stop) : state_(new State{in_fd, stop}) {}
InputReader::~InputReader() = default;

Result<size_t> InputReader::Read(char* buffer, size_t size) {
  while (!(state_->stop && state_->stop->load())) {
    pollfd pfd{state_->fd, POLLIN, 0};
    int ready = poll(&pfd, 1, 200);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Status::IoError("poll on stdin failed");
    if (ready == 0) continue;
    ssize_t n = read(state_->fd, buffer, size);
    if (n < 0 && errno == EINTR) continue;
    return n > 0 ? static_cast<size_t>(n) : size_t{0};  // 0: end of input (an error ends it too)
  }
  return size_t{0};
}

bool WriteAll(int out_fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(out_fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace llmdesk::mcp
