// net/ports.h — who holds a TCP port, read from the kernel (Linux).
//
// The kernel's listening sockets (sock_diag netlink, LISTEN state only; /proc/net/tcp and tcp6 when
// netlink is unavailable) give the socket inode; scanning
// /proc/*/fd for "socket:[inode]" gives the PID; /proc/PID/cmdline gives the command. This is a
// look, not a reservation: the engine's own bind() remains the only proof that a port is free.
// Processes of other users may be invisible without privileges: then the PID is unknown, but the
// port is still reported as held.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmdesk::net {

struct PortHolder {
  int port = 0;
  std::string address;        // local address of the listening socket, e.g. "127.0.0.1" or "::"
  unsigned long inode = 0;
  std::optional<pid_t> pid;   // unknown when the owner is not visible to us
  std::string command;        // /proc/PID/cmdline with spaces, e.g. "python3 -m http.server 10500"

  // "is held by PID 4242 (python3 -m http.server 10500)"
  std::string Describe() const;
  // "stop it with: kill 4242" (or how to find it when the PID is not visible)
  std::string HowToFree() const;
};

// All listening TCP sockets on this machine (IPv4 and IPv6). Never throws: processes that exit during
// the scan of /proc are skipped (a scan runs on the manager's supervisor thread, where an exception
// would terminate every engine).
std::vector<PortHolder> ListListeners();

// The LISTEN rows (state 0A) of the text of /proc/net/tcp or /proc/net/tcp6: port, address and socket
// inode (pid and command stay empty). The first line is the header. Rows that do not parse are skipped;
// never throws, on any input (a fuzz target feeds it).
std::vector<PortHolder> ParseTcpTable(std::string_view text);

// The listener on `port`, if any.
std::optional<PortHolder> FindPortHolder(int port);

// The command line of a process, or "" when it is gone or not visible.
std::string ProcessCommandLine(pid_t pid);

}  // namespace llmdesk::net
