// process/log_file.h on POSIX: open(2) with O_NOFOLLOW, mode 0600.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "process/log_file.h"

namespace llmdesk::process {

intptr_t OpenLogFile(const std::filesystem::path& file, bool truncate, LogFileError& error) {
  const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | (truncate ? O_TRUNC : 0),
                      0600);
  if (fd >= 0) return fd;
  const int code = errno;
  error.reason = std::strerror(code);
  if (code == ELOOP) error.what_to_do = "it is a symbolic link, and llmdesk never writes through one; remove it";
  return -1;
}

size_t WriteLogFile(intptr_t handle, std::string_view data) {
  const ssize_t n = write(static_cast<int>(handle), data.data(), data.size());
  return n > 0 ? static_cast<size_t>(n) : 0;
}

void CloseLogFile(intptr_t handle) {
  if (handle >= 0) close(static_cast<int>(handle));
}

}  // namespace llmdesk::process
