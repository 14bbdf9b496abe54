// One manager per config (the instance lock on KEY.lock, which holds the owner's PID) and the record of the
// engines it runs (KEY.state.json), so the next manager can stop what a crashed one left behind — and only that.
// The shared part: the file's format, Open and Write; the lock and CleanStale are state_store_{posix,win32}.cpp.
#include "manager/state_store.h"

#include <climits>
#include <nlohmann/json.hpp>
#include <optional>

#include "manager/host_os.h"
#include "manager/private_files.h"

namespace llmdesk::manager {
namespace {

using nlohmann::json;

std::string ConfigName(const std::string& source) { return source.empty() ? "the built-in defaults" : source; }

// ---- records --------------------------------------------------------------------------------------------
std::optional<long long> Integer(const json& obj, const char* key, long long lo, long long hi) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  long long v;
  if (it->is_number_unsigned()) {
    auto u = it->get<unsigned long long>();
    if (u > static_cast<unsigned long long>(LLONG_MAX)) return std::nullopt;
    v = static_cast<long long>(u);
  } else if (it->is_number_integer()) {
    v = it->get<long long>();
  } else {
    return std::nullopt;
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

std::string Text(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

// nullopt for anything that is not a usable record (wrong types, missing or out-of-range pid).
std::optional<EngineRecord> ParseRecord(const json& e) {
  if (!e.is_object()) return std::nullopt;
  auto pid = Integer(e, "pid", 2, INT_MAX);  // never 0 or 1 (kill(-1) would signal everything)
  auto start = Integer(e, "start_time", 0, LLONG_MAX);
  if (!pid || !start) return std::nullopt;
  EngineRecord r;
  r.name = Text(e, "name");
  if (r.name.empty()) r.name = "?";
  r.pid = static_cast<pid_t>(*pid);
  r.pgid = e.contains("pgid") ? static_cast<pid_t>(Integer(e, "pgid", 2, INT_MAX).value_or(0)) : r.pid;
  r.start_time = static_cast<unsigned long long>(*start);
  r.port = static_cast<int>(Integer(e, "port", 0, 65535).value_or(0));
  r.exe = Text(e, "exe");
  r.argv0 = Text(e, "argv0");
  if (r.pgid < 2) return std::nullopt;
  return r;
}

}  // namespace

std::vector<EngineRecord> ParseStateFile(std::string_view text, const std::string& source,
                                         std::vector<std::string>& notes) {
  std::vector<EngineRecord> out;
  const json state = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (state.is_discarded() || !state.is_object() || !state.contains("engines") || !state["engines"].is_array()) {
    notes.push_back("ignored an unreadable state file " + source);
    return out;
  }
  for (const auto& e : state["engines"]) {
    if (auto r = ParseRecord(e)) out.push_back(std::move(*r));
    else notes.push_back("ignored a malformed record in " + source);
  }
  return out;
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::filesystem::path& dir,
                                                     const std::string& config_source) {
  if (Status st = EnsurePrivateDir(dir, "state directory"); !st.ok()) return st;
  const std::string key = ConfigKey(config_source);
  const auto lock_path = dir / (key + ".lock");
  std::string holder;
  auto lock = InstanceLock::Take(lock_path, holder);
  if (!lock.ok()) {
    if (lock.status().code() != Status::Code::kAlreadyExists) return lock.status();
    std::string pid = holder;
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == '\r' || pid.back() == ' ')) pid.pop_back();
    return Status::AlreadyExists("llmdesk is already running for " + ConfigName(config_source) +
                                 (pid.empty() ? " (by another process)" : " as PID " + pid) +
                                 "; use that one (its control API, or `llmdesk status`) or stop it first");
  }
  std::unique_ptr<StateStore> store(new StateStore());
  store->config_source_ = config_source;
  store->key_ = key;
  store->state_path_ = dir / (key + ".state.json");
  store->lock_ = std::move(lock).value();
  return store;
}

Status StateStore::Write(const std::vector<EngineRecord>& engines) {
  json state = {{"config", config_source_}, {"manager_pid", CurrentPid()}, {"engines", json::array()}};
  for (const auto& e : engines)
    state["engines"].push_back({{"name", e.name},
                                {"pid", e.pid},
                                {"pgid", e.pgid},
                                {"start_time", e.start_time},
                                {"port", e.port},
                                {"exe", e.exe},
                                {"argv0", e.argv0}});
  Status st = ReplaceFile(state_path_, state.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  if (!st.ok()) return Status::IoError("cannot record the running engines (" + st.message() + ")");
  return st;
}

}  // namespace llmdesk::manager
