// store/files.h on POSIX (Linux): the code history.cpp had before the seam, moved.
#include "store/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace llmdesk::store {

// 0700 with each missing parent 0700 too: the XDG spec asks that of $XDG_DATA_HOME, and create_directories
// would leave $XDG_DATA_HOME/llmdesk 0755 meanwhile.
Status PrepareDirectory(const std::filesystem::path& dir) {
  std::filesystem::path at;
  for (const auto& part : dir) {
    at /= part;
    if (mkdir(at.c_str(), 0700) != 0 && errno != EEXIST)
      return Status::IoError("cannot create " + at.string() + ": " + std::strerror(errno));
  }
  struct stat st{};
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::PermissionDenied(dir.string() + " is not a directory (a symlink?); remove it or choose another place");
  if (st.st_uid != geteuid())
    return Status::PermissionDenied(dir.string() + " belongs to another user; llmdesk keeps history only in its own directory");
  if ((st.st_mode & 0077) != 0 && chmod(dir.c_str(), 0700) != 0)
    return Status::PermissionDenied("cannot make " + dir.string() + " private (chmod 700)");
  return Status::Ok();
}

Status PrepareFile(const std::filesystem::path& file) {
  int fd = open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return Status::PermissionDenied("cannot open " + file.string() + " (" + std::strerror(errno) +
                                    "); it must be a regular file, not a symlink");
  struct stat st{};
  const bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  close(fd);
  if (!regular) return Status::PermissionDenied(file.string() + " is not a regular file");
  return Status::Ok();
}

Status RefuseCompanionSymlinks(const std::filesystem::path& file) {
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const std::string companion = file.string() + suffix;
    struct stat st{};
    if (lstat(companion.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      return Status::PermissionDenied(companion + " is a symbolic link; llmdesk never opens its database files through one: "
                                      "remove it");
  }
  return Status::Ok();
}

// The start time is field 22 of /proc/PID/stat (clock ticks since boot).
std::string ProcessIdentity(long long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return "";
  const size_t close = line.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return "";
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  for (int k = 3; k <= 22 && fields >> field; ++k)
    if (k == 22) return std::to_string(pid) + ":" + field;
  return "";
}

long long CurrentProcessId() { return getpid(); }

}  // namespace llmdesk::store
