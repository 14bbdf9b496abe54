// Which port a backend gets. A look at /proc, never a bind-probe: the engine's own bind stays the
// proof (an engine that cannot bind is retried on the next port by the supervisor).
#include "manager/port_choice.h"

namespace llmdesk::manager {
namespace {

std::string RangeText(const config::PortsConfig& p) {
  return std::to_string(p.range_first) + "-" + std::to_string(p.range_last);
}

}  // namespace

Result<PortChoice> ChoosePort(const PortQuery& q) {
  std::vector<net::PortHolder> all;
  std::map<int, const net::PortHolder*> held;
  bool listed = false;
  auto list = [&] {
    if (listed) return;
    listed = true;
    if (q.listeners) all = q.listeners();
    for (const auto& h : all) held.emplace(h.port, &h);
  };
  auto needs_privilege = [&](int port) { return port < q.unprivileged_start && !q.privileged; };
  auto is_free = [&](int port) {
    return port > 0 && port <= 65535 && !held.count(port) && !q.ours.count(port) && !q.failed.count(port) &&
           !needs_privilege(port);
  };

  std::string why_not;  // why the configured port cannot be used
  if (q.configured > 0) {
    if (q.configured > 65535)
      return Status::InvalidArgument("port " + std::to_string(q.configured) + " is not a TCP port (1-65535)");
    if (needs_privilege(q.configured))
      return Status::PermissionDenied(
          "port " + std::to_string(q.configured) + " is below " + std::to_string(q.unprivileged_start) +
          " and needs root (or CAP_NET_BIND_SERVICE); use a port of ports.range (" + RangeText(q.ports) + ") instead");
    std::optional<net::PortHolder> configured_holder;
    if (q.find_holder) {
      configured_holder = q.find_holder(q.configured);
      if (configured_holder) held.emplace(q.configured, &*configured_holder);
    } else {
      list();
    }
    if (is_free(q.configured)) return PortChoice{q.configured, ""};
    const std::string port = "port " + std::to_string(q.configured);
    std::string how_to_free;
    if (auto it = held.find(q.configured); it != held.end()) {
      why_not = port + " " + it->second->Describe();
      how_to_free = it->second->HowToFree();
    } else if (auto o = q.ours.find(q.configured); o != q.ours.end()) {
      why_not = port + " is used by backend '" + o->second + "'";
      how_to_free = "give one of them another port";
    } else {
      why_not = port + " was taken by another process after llmdesk looked (the engine could not bind it)";
      if (auto h = net::FindPortHolder(q.configured))
        why_not = port + " " + h->Describe(), how_to_free = h->HowToFree();
    }
    if (q.ports.on_conflict == config::OnConflict::kFail)
      return Status::Unavailable(why_not + (how_to_free.empty() ? "" : "; " + how_to_free) +
                                 " (or set ports.on_conflict: fallback to use another port of " + RangeText(q.ports) +
                                 ")");
  }
  // Usually the first candidate is free: asking for it alone reads two small /proc tables. Each held
  // candidate costs a /proc/*/fd scan that way, so after a few of those one full listing is cheaper.
  constexpr int kSingleLookups = 3;
  int single_lookups = 0;
  std::vector<net::PortHolder> found;
  found.reserve(kSingleLookups);
  for (int port = q.ports.range_first; port <= q.ports.range_last; ++port) {
    if (!is_free(port)) continue;
    if (!listed && q.find_holder && single_lookups < kSingleLookups) {
      ++single_lookups;
      if (auto h = q.find_holder(port)) {
        found.push_back(std::move(*h));
        held.emplace(port, &found.back());
        continue;
      }
    } else {
      list();
      if (!is_free(port)) continue;
    }
    std::string note = why_not.empty() ? "" : why_not + "; using " + std::to_string(port);
    return PortChoice{port, note};
  }
  list();
  size_t taken = 0;
  for (int port = q.ports.range_first; port <= q.ports.range_last; ++port) taken += !is_free(port);
  return Status::Unavailable((why_not.empty() ? "" : why_not + ", and ") + "no free port is left in ports.range " +
                             RangeText(q.ports) + " (" + std::to_string(taken) +
                             " taken); widen ports.range or stop what holds them (`llmdesk ports` lists them)");
}

}  // namespace llmdesk::manager
