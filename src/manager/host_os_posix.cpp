// The POSIX side of host_os.h (and UnprivilegedPortStart of port_choice.h).
#include <unistd.h>

#include <fstream>

#include "manager/host_os.h"
#include "manager/port_choice.h"

namespace llmdesk::manager {

pid_t CurrentPid() { return getpid(); }

bool IsExecutableFile(const std::filesystem::path& path) { return access(path.c_str(), X_OK) == 0; }

std::string ProcessImagePath(pid_t pid) {
  std::error_code ec;
  auto target = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  return ec ? "" : target.string();
}

bool MayBindPrivilegedPorts() { return geteuid() == 0; }

int UnprivilegedPortStart() {
  std::ifstream in("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  int value = 1024;
  if (!(in >> value)) value = 1024;
  return value;
}

}  // namespace llmdesk::manager
