// manager/host_os.h — the few questions the manager asks the operating system about itself and other
// processes (private to src/manager). One interface, chosen at build time (docs/WINDOWS.md):
// host_os_posix.cpp (getpid, access, /proc) and host_os_win32.cpp (the Win32 API).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace llmdesk::manager {

pid_t CurrentPid();
// A regular file we may run. POSIX: access(X_OK). Windows: an existing file that is not a folder.
bool IsExecutableFile(const std::filesystem::path& path);
// The running program of `pid` as a path text, for the state file: POSIX readlink /proc/PID/exe; Windows
// QueryFullProcessImageNameW, UTF-8. Empty when it cannot be read (gone, not ours to inspect).
std::string ProcessImagePath(pid_t pid);
// Whether ports below UnprivilegedPortStart() (port_choice.h) are ours to bind: root on POSIX. Windows has no
// privileged ports: true.
bool MayBindPrivilegedPorts();

}  // namespace llmdesk::manager
