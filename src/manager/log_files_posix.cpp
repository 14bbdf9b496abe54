// Reading the end of a backend's log and following it (manager.h), the POSIX side: pread, inotify.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "manager/log_tail.h"
#include "manager/manager.h"
#include "manager/private_files.h"

namespace llmdesk::manager {

Result<std::vector<std::string>> TailLogFile(const std::filesystem::path& path, size_t lines) {
  auto fd = OpenNoFollow(path, O_RDONLY | O_NONBLOCK);
  if (!fd.ok()) {
    if (fd.status().code() == Status::Code::kNotFound)
      return Status::NotFound("no log at " + path.string() + " (the backend has not run yet?)");
    return fd.status();
  }
  struct stat st {};
  if (fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode))
    return Status::InvalidArgument(path.string() + " is not a regular file");
  // Read backwards in blocks until enough newlines are seen (a 4 MiB log costs a few blocks).
  constexpr size_t kBlock = 64 * 1024;
  std::string tail;
  off_t end = st.st_size;
  size_t newlines = 0;
  while (end > 0 && newlines <= lines) {
    const size_t n = static_cast<size_t>(std::min<off_t>(end, kBlock));
    std::string block(n, '\0');
    ssize_t got = pread(fd->get(), block.data(), n, end - static_cast<off_t>(n));
    if (got < 0 && errno == EINTR) continue;
    if (got != static_cast<ssize_t>(n)) return Status::IoError("cannot read " + path.string());
    newlines += static_cast<size_t>(std::count(block.begin(), block.end(), '\n'));
    tail.insert(0, block);
    end -= static_cast<off_t>(n);
  }
  return TailLines(tail, end > 0, lines);
}

Status FollowLogFile(const std::filesystem::path& path, const std::function<bool(std::string_view)>& on_text,
                     const CancelToken* cancel) {
  auto fd = OpenNoFollow(path, O_RDONLY | O_NONBLOCK);
  if (!fd.ok()) return fd.status();
  if (lseek(fd->get(), 0, SEEK_END) < 0) return Status::IoError("cannot read " + path.string());
  UniqueFd notify(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  UniqueFd wake(eventfd(0, EFD_CLOEXEC));
  if (!notify.valid() || !wake.valid() ||
      inotify_add_watch(notify.get(), path.c_str(), IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF) < 0)
    return Status::IoError("cannot watch " + path.string());
  CancelWatch wake_on_cancel(cancel, [&wake] {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake.get(), &one, sizeof(one));
  });
  Status result;
  for (bool going = !(cancel && cancel->cancelled()); going;) {
    pollfd fds[2] = {{notify.get(), POLLIN, 0}, {wake.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents) break;
    char events[4096];
    ssize_t n = read(notify.get(), events, sizeof(events));
    bool gone = false;
    for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      auto* e = reinterpret_cast<inotify_event*>(events + at);
      gone |= (e->mask & (IN_MOVE_SELF | IN_DELETE_SELF)) != 0;
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
    }
    char buf[65536];
    for (ssize_t got; (got = read(fd->get(), buf, sizeof(buf))) > 0;)
      if (!on_text(std::string_view(buf, static_cast<size_t>(got)))) going = false;
    if (gone) {
      result = Status::Unavailable(path.string() + " was rotated or removed");
      break;
    }
  }
  return result;
}

}  // namespace llmdesk::manager
