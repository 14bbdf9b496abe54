// Directories and files only we can touch, the POSIX side (modes, owners, O_NOFOLLOW); see private_files.h.
#include "manager/private_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace llmdesk::manager {

namespace {

// mkdir -p with mode 0700 for every directory it creates (create_directories would use 0777 & ~umask, leaving
// e.g. $XDG_STATE_HOME/llmdesk readable by everyone; the XDG spec asks for 0700). Existing ones are left as
// they are. Errors surface in the mkdir of `dir` itself.
void CreateMissingParents(const std::filesystem::path& dir) {
  std::filesystem::path at;
  for (const auto& part : dir.parent_path()) {
    at /= part;
    if (mkdir(at.c_str(), 0700) != 0 && errno != EEXIST) return;
  }
}

}  // namespace

Status EnsurePrivateDir(const std::filesystem::path& dir, const std::string& what) {
  CreateMissingParents(dir);
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::IoError(fmt::format("cannot create the {} {}: {}", what, dir.string(), strerror(errno)));
  const std::string advice = "; remove it (as its owner, or root) or point llmdesk elsewhere "
                             "(XDG_RUNTIME_DIR for state, XDG_STATE_HOME for logs)";
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0)
    return Status::IoError(fmt::format("cannot inspect the {} {}: {}", what, dir.string(), strerror(errno)));
  if (S_ISLNK(st.st_mode))
    return Status::PermissionDenied(fmt::format(
        "the {} {} is a symbolic link; llmdesk only uses a real directory that it owns{}", what, dir.string(), advice));
  if (!S_ISDIR(st.st_mode))
    return Status::PermissionDenied(fmt::format("the {} {} is not a directory{}", what, dir.string(), advice));
  if (st.st_uid != geteuid())
    return Status::PermissionDenied(fmt::format(
        "the {} {} is owned by UID {}, not by you (UID {}): another user could read or plant files there{}", what,
        dir.string(), st.st_uid, geteuid(), advice));
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return Status::PermissionDenied(fmt::format(
        "the {} {} is writable by group or others (mode {:04o}): run `chmod 700 {}`{}", what, dir.string(),
        st.st_mode & 07777, dir.string(), advice));
  if ((st.st_mode & 077) && chmod(dir.c_str(), 0700) != 0)  // ours and only readable by others: tighten
    return Status::IoError(fmt::format("cannot make the {} {} private: {}", what, dir.string(), strerror(errno)));
  return Status::Ok();
}

Result<UniqueFd> OpenNoFollow(const std::filesystem::path& path, int flags) {
  UniqueFd fd(open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    const int e = errno;
    if (e == ENOENT) return Status::NotFound(path.string() + " does not exist");
    if (e == ELOOP) return Status::PermissionDenied(path.string() + " is a symbolic link; llmdesk does not follow it");
    return Status::IoError("cannot open " + path.string() + ": " + strerror(e));
  }
  return fd;
}

Result<std::string> ReadPrivateFile(const std::filesystem::path& path, size_t max_bytes) {
  auto fd = OpenNoFollow(path, O_RDONLY | O_NONBLOCK);  // O_NONBLOCK: a planted FIFO must not hang us
  if (!fd.ok()) return fd.status();
  struct stat st {};
  if (fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode))
    return Status::InvalidArgument(path.string() + " is not a regular file");
  if (static_cast<size_t>(st.st_size) > max_bytes)
    return Status::InvalidArgument(fmt::format("{} is larger than {} bytes", path.string(), max_bytes));
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = read(fd->get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

Status ReplaceFile(const std::filesystem::path& path, const std::string& text) {
  std::string temp = path.string() + ".XXXXXX";
  UniqueFd fd(mkostemp(temp.data(), O_CLOEXEC));  // O_EXCL, 0600: never an existing file or symlink
  if (!fd.valid()) return Status::IoError("cannot create a temporary file next to " + path.string() + ": " + strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = n < 0 ? errno : ENOSPC;
      unlink(temp.c_str());
      return Status::IoError("cannot write " + temp + ": " + strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd.release()) != 0 || rename(temp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    unlink(temp.c_str());
    return Status::IoError("cannot replace " + path.string() + ": " + strerror(e));
  }
  return Status::Ok();
}

std::filesystem::path DefaultStateDir() {
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime)
    return std::filesystem::path(runtime) / "llmdesk";
  return "/tmp/llmdesk-" + std::to_string(geteuid());
}

std::filesystem::path DefaultLogDir() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state)
    return std::filesystem::path(state) / "llmdesk" / "logs";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : "/tmp") / ".local" / "state" / "llmdesk" / "logs";
}

}  // namespace llmdesk::manager
