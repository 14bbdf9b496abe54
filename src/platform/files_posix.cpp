// platform/files.h on POSIX (Linux): /proc/self/exe and statvfs.
#include "platform/files.h"

#include <sys/statvfs.h>

namespace llmdesk::platform {

std::filesystem::path ExecutablePath() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe;
}

std::optional<uint64_t> FreeDiskBytes(const std::filesystem::path& dir) {
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) return std::nullopt;
  return static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

}  // namespace llmdesk::platform
