// `llmdesk ports` / GET /api/ports: every port the config names, and who holds it right now.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "common/text.h"
#include "control/control.h"
#include "net/ports.h"

namespace llmdesk::control {
namespace {

bool Running(const manager::BackendStatus& s) {
  return s.state == manager::State::kStarting || s.state == manager::State::kReady ||
         s.state == manager::State::kStopping;
}

const char* OwnerName(PortUse::Owner o) {
  switch (o) {
    case PortUse::Owner::kFree: return "free";
    case PortUse::Owner::kOurs: return "ours";
    case PortUse::Owner::kOther: return "other";
  }
  return "other";
}

}  // namespace

std::vector<PortUse> BuildPortReport(const config::Config& config, const std::vector<manager::BackendStatus>& ours,
                                     std::optional<pid_t> daemon_pid) {
  std::vector<PortUse> uses;
  auto add = [&uses](int port, std::string who) {
    if (port <= 0) return;
    auto it = std::find_if(uses.begin(), uses.end(), [port](const PortUse& u) { return u.port == port; });
    if (it == uses.end()) it = uses.insert(uses.end(), PortUse{.port = port});
    it->used_by.push_back(std::move(who));
  };
  add(config.gateway.port, "gateway");
  add(config.tool_server.port, "tool server");
  for (const auto& m : config.models)
    if (m.kind != config::ModelConfig::Kind::kRemote) add(m.port, "model " + m.name);
  for (const auto& s : ours) {
    if (!Running(s) || s.port <= 0 || s.port == s.configured_port) continue;
    add(s.port, s.configured_port ? fmt::format("model {} (instead of {})", s.name, s.configured_port)
                                  : "model " + s.name);
  }

  // One scan of /proc for all ports: it walks every process's fds.
  std::map<int, net::PortHolder> holders;
  for (auto& h : net::ListListeners()) holders.emplace(h.port, std::move(h));

  for (auto& use : uses) {
    auto held = holders.find(use.port);
    if (held == holders.end()) continue;
    use.pid = held->second.pid;
    use.command = held->second.command;
    bool by_daemon = daemon_pid && use.pid && *use.pid == *daemon_pid;
    bool by_backend = std::any_of(ours.begin(), ours.end(), [&](const manager::BackendStatus& s) {
      return Running(s) && ((use.pid && s.pid == *use.pid) || s.port == use.port);
    });
    use.owner = by_daemon || by_backend ? PortUse::Owner::kOurs : PortUse::Owner::kOther;
  }
  return uses;
}

nlohmann::json ToJson(const PortUse& use) {
  return {
      {"port", use.port},
      {"owner", OwnerName(use.owner)},
      {"pid", use.pid ? nlohmann::json(*use.pid) : nlohmann::json(nullptr)},
      // Another process's argv is bytes, not necessarily UTF-8: made valid here, so every dump works
      // (the CLI's `ports --json` and the control API alike).
      {"command", ValidUtf8(use.command)},
      {"used_by", use.used_by},
  };
}

std::string FormatPortTable(const std::vector<PortUse>& uses) {
  std::string out = fmt::format("{:>6}  {:<6} {:>8}  {:<28} {}\n", "PORT", "OWNER", "PID", "USED BY", "COMMAND");
  for (const auto& u : uses) {
    std::string who;
    for (const auto& w : u.used_by) who += (who.empty() ? "" : ", ") + w;
    std::string pid = u.pid ? std::to_string(*u.pid) : (u.owner == PortUse::Owner::kFree ? "-" : "?");
    std::string command = u.owner == PortUse::Owner::kFree ? "" : u.command;
    if (u.owner != PortUse::Owner::kFree && !u.pid) command = "(holder not visible to this user)";
    out += fmt::format("{:>6}  {:<6} {:>8}  {:<28} {}\n", u.port, OwnerName(u.owner), pid, who, command);
  }
  return out;
}

}  // namespace llmdesk::control
