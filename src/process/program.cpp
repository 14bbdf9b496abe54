// FindProgram and WriteNoSigpipe: the PATH lookup and the SIGPIPE-free pipe write of process.h.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "process/process.h"

namespace llmdesk::process {
namespace {

bool IsExecutableFile(const std::filesystem::path& path) {
  std::error_code ec;  // non-throwing: a path too long for the system is just not a program
  return std::filesystem::is_regular_file(path, ec) && access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::optional<std::filesystem::path> FindProgram(std::string_view name, std::string_view search_path) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string_view::npos) {
    std::filesystem::path path(name);
    return IsExecutableFile(path) ? std::optional(path) : std::nullopt;
  }
  while (!search_path.empty()) {
    size_t colon = search_path.find(':');
    std::string_view dir = search_path.substr(0, colon);
    search_path = colon == std::string_view::npos ? std::string_view() : search_path.substr(colon + 1);
    if (dir.empty()) continue;
    auto candidate = std::filesystem::path(dir) / name;
    if (IsExecutableFile(candidate)) return candidate;
  }
  return std::nullopt;
}

ssize_t WriteNoSigpipe(int fd, const void* data, size_t size) {
  sigset_t sigpipe, old_mask, pending;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe, &old_mask);
  // A SIGPIPE pending before our write belongs to someone else: leave it for them.
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  ssize_t n;
  do n = write(fd, data, size);
  while (n < 0 && errno == EINTR);
  const int write_errno = errno;
  if (n < 0 && write_errno == EPIPE && !was_pending) {
    // The kernel raised SIGPIPE at this thread; it is pending while blocked: take it before unblocking.
    const timespec no_wait{0, 0};
    while (sigtimedwait(&sigpipe, nullptr, &no_wait) < 0 && errno == EINTR) {}
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = write_errno;
  return n;
}

}  // namespace llmdesk::process
