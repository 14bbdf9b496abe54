// manager/port_choice.h — which port a backend gets (private to src/manager; pure apart from the
// lookups passed in). A look at /proc, never a bind-probe: the engine's own bind stays the proof.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "net/ports.h"

namespace llmdesk::manager {

struct PortChoice {
  int port = 0;
  std::string note;  // "port 10500 is held by PID 4242 (python3 -m http.server 10500); using 10501"
};
struct PortQuery {
  int configured = 0;  // 0 = first free port of the range
  config::PortsConfig ports;
  std::map<int, std::string> ours;  // ports our other backends use -> backend name
  std::set<int> failed;             // ports the engine could not bind during this start
  // Who listens: `find_holder` for the configured port (cheap when it is free: no /proc/*/fd scan),
  // `listeners` (one scan) only when another port of the range must be chosen. Null find_holder =
  // looked up in listeners().
  std::function<std::optional<net::PortHolder>(int)> find_holder;
  std::function<std::vector<net::PortHolder>()> listeners;
  int unprivileged_start = 1024;  // /proc/sys/net/ipv4/ip_unprivileged_port_start
  bool privileged = false;        // euid 0
};
// PermissionDenied (privileged port), InvalidArgument (not a TCP port), Unavailable (held with
// on_conflict=fail; range exhausted).
Result<PortChoice> ChoosePort(const PortQuery& query);
int UnprivilegedPortStart();  // host_os_{posix,win32}.cpp: POSIX /proc/sys/net/ipv4/...; Windows 0 (none)

}  // namespace llmdesk::manager
