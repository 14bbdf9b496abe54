// JSON shapes and text views of backends and events, shared by the server, the client and the CLI.
#include <time.h>

#include <algorithm>

#include <fmt/chrono.h>  // fmt::gmtime / fmt::localtime: the thread-safe forms on POSIX and Windows alike
#include <fmt/format.h>

#include "control/control.h"

#include "common/json_read.h"

namespace llmdesk::control {
namespace {

using Clock = std::chrono::system_clock;

int64_t EpochMs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// RFC 3339 UTC with milliseconds: "2026-11-26T04:00:01.234Z".
std::string Rfc3339(Clock::time_point t) {
  int64_t ms = EpochMs(t);
  time_t secs = static_cast<time_t>(ms / 1000);
  const tm parts = fmt::gmtime(secs);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &parts);
  return fmt::format("{}.{:03}Z", buf, ms % 1000);
}

// Local wall clock for event lines: "12:00:01.234".
std::string LocalClock(Clock::time_point t) {
  int64_t ms = EpochMs(t);
  time_t secs = static_cast<time_t>(ms / 1000);
  const tm parts = fmt::localtime(secs);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", parts.tm_hour, parts.tm_min, parts.tm_sec, ms % 1000);
}

std::optional<config::ModelConfig::Kind> KindFromString(const std::string& text) {
  using K = config::ModelConfig::Kind;
  for (K k : {K::kLocal, K::kCommand, K::kRemote})
    if (text == config::ToString(k)) return k;
  return std::nullopt;
}

// The actual port, or the configured one in parentheses while not running.
std::string PortText(const manager::BackendStatus& s) {
  if (s.port) return std::to_string(s.port);
  return s.configured_port ? "(" + std::to_string(s.configured_port) + ")" : std::string("-");
}

// Placement (issue 15): {device, layers_offloaded, layers_total, device_mib, note}; absent until the engine said.
nlohmann::json PlacementJson(const manager::Placement& p) {
  return {{"device", p.device}, {"layers_offloaded", p.layers_offloaded}, {"layers_total", p.layers_total},
          {"device_mib", p.device_mib}, {"note", p.note}};
}

manager::Placement PlacementFromJson(const nlohmann::json& j) {
  manager::Placement p;
  if (!j.is_object()) return p;
  p.device = JsonString(j, "device");
  p.note = JsonString(j, "note");
  p.layers_offloaded = static_cast<int>(std::clamp<int64_t>(JsonInt(j, "layers_offloaded", -1), -1, 1 << 20));
  p.layers_total = static_cast<int>(std::clamp<int64_t>(JsonInt(j, "layers_total", -1), -1, 1 << 20));
  p.device_mib = JsonNumber(j, "device_mib");
  return p;
}

// Issue 14: a backend's RPC workers, [{address, state, detail}] in config order.
nlohmann::json RpcWorkersJson(const std::vector<manager::RpcWorkerStatus>& workers) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& w : workers) list.push_back({{"address", w.address}, {"state", w.state}, {"detail", w.detail}});
  return list;
}

std::vector<manager::RpcWorkerStatus> RpcWorkersFromJson(const nlohmann::json& list) {
  std::vector<manager::RpcWorkerStatus> out;
  if (!list.is_array()) return out;
  for (const auto& j : list)
    if (j.is_object()) out.push_back({JsonString(j, "address"), JsonString(j, "state"), JsonString(j, "detail")});
  return out;
}

// One line per RPC worker under its backend's row: "  rpc 10.0.0.5:50052  answering  protocol 6.0.0, 1 device".
// While the engine runs, its workers serve it (the state is the check made before it started).
std::string FormatRpcWorkerLines(const manager::BackendStatus& s) {
  std::string out;
  for (const auto& w : s.rpc_workers) {
    std::string state = w.state;
    if (s.state == manager::State::kReady && w.state == "answering") state = "in use";
    out += fmt::format("{:<16} rpc {:<21} {:<12} {}\n", "", w.address, state, w.detail);
  }
  return out;
}

}  // namespace

std::string FormatPlacement(const manager::Placement& p) {
  if (p.device.empty() && p.note.empty()) return "";
  std::string out = "on " + (p.device.empty() ? std::string("?") : p.device);
  if (p.layers_total > 0) out += fmt::format(": {}/{} layers", std::max(p.layers_offloaded, 0), p.layers_total);
  if (p.device_mib > 0) out += fmt::format(", {:.0f} MiB on the device", p.device_mib);
  return out;
}

std::optional<manager::State> StateFromString(const std::string& text) {
  using S = manager::State;
  for (S s : {S::kStopped, S::kStarting, S::kReady, S::kStopping, S::kFailed})
    if (text == manager::ToString(s)) return s;
  return std::nullopt;
}

const char* KindName(manager::Event::Kind kind) {
  switch (kind) {
    case manager::Event::Kind::kState: return "state";
    case manager::Event::Kind::kProgress: return "progress";
    case manager::Event::Kind::kLog: return "log";
    case manager::Event::Kind::kWarning: return "warning";
  }
  return "state";
}

nlohmann::json ToJson(const manager::BackendStatus& s) {
  nlohmann::json j = {
      {"name", s.name},
      {"kind", config::ToString(s.kind)},
      {"state", manager::ToString(s.state)},
      {"configured_port", s.configured_port},
      {"port", s.port},
      {"pid", s.pid},
      {"restarts", s.restarts},
      {"reason", s.reason},
      {"progress", s.progress},
      {"url", s.url()},
      {"log_file", s.log_file},
  };
  j["since"] = s.since ? nlohmann::json(Rfc3339(*s.since)) : nlohmann::json(nullptr);
  if (!s.label.empty()) j["label"] = s.label;
  if (!s.placement.device.empty() || !s.placement.note.empty()) j["placement"] = PlacementJson(s.placement);
  if (!s.rpc_workers.empty()) j["rpc_workers"] = RpcWorkersJson(s.rpc_workers);
  return j;
}

Result<manager::BackendStatus> BackendStatusFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status::InvalidArgument("backend status is not a JSON object");
  manager::BackendStatus s;
  try {
    s.name = j.value("name", "");
    auto kind = KindFromString(j.value("kind", "local"));
    auto state = StateFromString(j.value("state", ""));
    if (s.name.empty() || !kind || !state)
      return Status::InvalidArgument("backend status lacks a valid name/kind/state: " + j.dump());
    s.kind = *kind;
    s.state = *state;
    s.configured_port = j.value("configured_port", 0);
    s.port = j.value("port", 0);
    s.pid = j.value("pid", 0);
    s.restarts = j.value("restarts", 0);
    s.reason = j.value("reason", "");
    s.progress = j.value("progress", -1.0);
    s.log_file = j.value("log_file", "");
    if (j.contains("label") && j["label"].is_string()) s.label = j["label"].get<std::string>();
    if (j.contains("placement")) s.placement = PlacementFromJson(j["placement"]);
    if (j.contains("rpc_workers")) s.rpc_workers = RpcWorkersFromJson(j["rpc_workers"]);
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("backend status has a field of the wrong type: ") + e.what());
  }
  return s;
}

nlohmann::json ToJson(const manager::Event& e) {
  return {
      {"seq", e.seq},
      {"time", Rfc3339(e.time)},
      {"time_ms", EpochMs(e.time)},
      {"kind", KindName(e.kind)},
      {"backend", e.backend},
      {"old_state", manager::ToString(e.old_state)},
      {"new_state", manager::ToString(e.new_state)},
      {"port", e.port},
      {"pid", e.pid},
      {"reason", e.reason},
      {"progress", e.progress},
      {"stage", e.stage},
  };
}

std::vector<std::string> DefaultBackendsToStart(const config::Config& config) {
  std::vector<std::string> autostart, spawned;
  for (const auto& m : config.models) {
    if (m.kind == config::ModelConfig::Kind::kRemote) continue;
    spawned.push_back(m.name);
    if (m.autostart) autostart.push_back(m.name);
  }
  return autostart.empty() ? spawned : autostart;
}

std::string FormatEvent(const manager::Event& e) {
  std::string line = fmt::format("{}  {:<14}", LocalClock(e.time), e.backend);
  switch (e.kind) {
    case manager::Event::Kind::kState:
      line += fmt::format(" {} -> {}", manager::ToString(e.old_state), manager::ToString(e.new_state));
      break;
    case manager::Event::Kind::kProgress:
      line += e.progress >= 0 ? fmt::format(" loading {:3.0f}%", e.progress * 100) : std::string(" loading");
      if (!e.stage.empty()) line += " (" + e.stage + ")";
      return line;
    case manager::Event::Kind::kLog:
      return line + " | " + e.reason;
    case manager::Event::Kind::kWarning:
      return line + " warning: " + e.reason;
  }
  if (e.port) line += fmt::format("  port {}", e.port);
  if (e.pid) line += fmt::format("  pid {}", e.pid);
  if (e.kind == manager::Event::Kind::kState && e.new_state == manager::State::kReady && e.port)
    line += fmt::format("  ready at http://127.0.0.1:{}", e.port);
  if (!e.reason.empty()) line += "  (" + e.reason + ")";
  return line;
}

std::string FormatStatusTable(const std::vector<manager::BackendStatus>& statuses) {
  std::string out = fmt::format("{:<16} {:<9} {:>7} {:>8} {:>8}  {}\n", "NAME", "STATE", "PORT", "PID", "RESTARTS",
                                "URL / REASON");
  for (const auto& s : statuses) {
    std::string detail;
    if (s.state == manager::State::kReady || s.kind == config::ModelConfig::Kind::kRemote) detail = s.url();
    if (s.state == manager::State::kStarting && s.progress >= 0)
      detail = fmt::format("loading {:.0f}%", s.progress * 100);
    if (s.state == manager::State::kFailed || (detail.empty() && !s.reason.empty())) {
      detail = s.reason.substr(0, s.reason.find('\n'));  // first line; `llmdesk logs` has the rest
    }
    out += fmt::format("{:<16} {:<9} {:>7} {:>8} {:>8}  {}\n", s.name, manager::ToString(s.state),
                       PortText(s), s.pid ? std::to_string(s.pid) : "-",
                       s.restarts, detail);
    if (!s.label.empty()) out += fmt::format("{:<16} ({})\n", "", s.label);  // the demo model says what it is
    if (auto where = FormatPlacement(s.placement); !where.empty()) out += fmt::format("{:<16} {}\n", "", where);
    if (!s.placement.note.empty()) out += fmt::format("{:<16} note: {}\n", "", s.placement.note);
    out += FormatRpcWorkerLines(s);
  }
  return out;
}

}  // namespace llmdesk::control
