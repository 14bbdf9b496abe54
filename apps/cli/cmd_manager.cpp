// Manager commands: `up`, `serve` (cmd_up.cpp) and `status`, `start|stop|restart`, `logs`, `ports`,
// which talk to a running `llmdesk serve` through its control API when one answers on gateway.port
// and otherwise act on what they can see locally.
#include <unistd.h>

#include <deque>
#include <fstream>
#include <iostream>

#include "cmd_manager.h"
#include "control/control.h"
#include "manager/manager.h"
#include "signals.h"

namespace llmdesk::cli {
namespace {

using Json = nlohmann::json;

constexpr const char* kNoDaemon = "no llmdesk serve is running; start one with `llmdesk serve`";

// The daemon for this config, if one answers. Prints why when something else holds the port.
std::optional<Json> FindDaemon(control::ControlClient& client) {
  auto health = client.Health();
  if (health.ok()) return *health;
  if (health.status().code() != Status::Code::kUnavailable) std::cerr << "llmdesk: " << health.status().message() << "\n";
  return std::nullopt;
}

std::vector<manager::BackendStatus> ParseBackends(const Json& list) {
  std::vector<manager::BackendStatus> out;
  if (!list.is_array()) return out;
  for (const auto& j : list)
    if (auto s = control::BackendStatusFromJson(j); s.ok()) out.push_back(*s);
  return out;
}

std::vector<manager::BackendStatus> ConfiguredAsStopped(const config::Config& cfg) {
  std::vector<manager::BackendStatus> out;
  for (const auto& m : cfg.models) {
    manager::BackendStatus s;
    s.name = m.name;
    s.kind = m.kind;
    s.configured_port = m.port;
    for (const auto& worker : m.rpc) s.rpc_workers.push_back({worker, "unknown", "checked when the model starts"});
    out.push_back(s);
  }
  return out;
}

int StatusCmd(Context& ctx, bool json) {
  auto cfg = ctx.LoadConfig(/*quiet_warnings=*/true);
  if (!cfg) return kExitBadConfig;
  control::ControlClient client(cfg->gateway);
  auto daemon = FindDaemon(client);
  std::vector<manager::BackendStatus> list;
  if (daemon) {
    auto backends = client.Backends();
    if (!backends.ok()) {
      std::cerr << "llmdesk: " << backends.status().message() << "\n";
      return kExitFailure;
    }
    if (json) {
      std::cout << Json{{"daemon", {{"pid", daemon->value("pid", 0)}, {"url", client.url()}}}, {"backends", *backends}}.dump(2)
                << "\n";
      return kExitOk;
    }
    list = ParseBackends(*backends);
    std::cout << "llmdesk serve (pid " << daemon->value("pid", 0) << ") at " << client.url() << "\n";
  } else {
    list = ConfiguredAsStopped(*cfg);
    if (json) {
      Json backends = Json::array();
      for (const auto& s : list) backends.push_back(control::ToJson(s));
      std::cout << Json{{"daemon", nullptr}, {"backends", backends}}.dump(2) << "\n";
      return kExitOk;
    }
    std::cout << kNoDaemon << ". Configured backends:\n";
  }
  std::cout << control::FormatStatusTable(list);
  return kExitOk;
}

int ActionCmd(Context& ctx, const std::string& action, const std::string& name) {
  auto cfg = ctx.LoadConfig(/*quiet_warnings=*/true);
  if (!cfg) return kExitBadConfig;
  control::ControlClient client(cfg->gateway);
  if (!FindDaemon(client)) {
    std::cerr << "llmdesk: " << kNoDaemon << "\n";
    return kExitFailure;
  }
  auto res = client.Action(name, action);
  if (!res.ok()) {
    std::cerr << "llmdesk: " << action << " " << name << ": " << res.status().message() << "\n";
    return kExitFailure;
  }
  // The daemon answers at once (202); the change itself shows up in `llmdesk status` and /api/events.
  std::cout << name << ": " << action << " requested; follow it with `llmdesk status`\n";
  return kExitOk;
}

// Without a daemon: the tail of the log file the manager wrote for this config (manager::LogFilePath, with
// its escaping of names such as "a:b"); with follow, what is appended until Ctrl-C.
int LogsFromFile(const config::Config& cfg, const std::string& name, size_t lines, bool follow) {
  StopSignals signals;
  const auto path = manager::LogFilePath(cfg, name);
  auto tail = manager::TailLogFile(path, lines);
  if (!tail.ok()) {
    std::cerr << "llmdesk: " << tail.status().message() << "\n";
    return kExitFailure;
  }
  for (const auto& l : *tail) std::cout << l << "\n";
  std::cout << std::flush;
  if (!follow) return kExitOk;
  CancelToken stop;
  StopSignals::Watch watch(signals, [&](int) { stop.Cancel(); });
  Status s = manager::FollowLogFile(path, [](std::string_view text) {
    std::cout << text << std::flush;
    return true;
  }, &stop);
  if (!s.ok()) std::cerr << "llmdesk: " << s.message() << "\n";
  return s.ok() ? kExitOk : kExitFailure;
}

int LogsCmd(Context& ctx, const std::string& name, size_t lines, bool follow) {
  auto cfg = ctx.LoadConfig(/*quiet_warnings=*/true);
  if (!cfg) return kExitBadConfig;
  if (!cfg->FindModel(name)) {
    std::cerr << "llmdesk: no backend named '" << name << "' in the config\n";
    return kExitFailure;
  }
  control::ControlClient client(cfg->gateway);
  if (!FindDaemon(client)) return LogsFromFile(*cfg, name, lines, follow);
  if (!follow) {
    auto res = client.Logs(name, lines);
    if (!res.ok()) {
      std::cerr << "llmdesk: " << res.status().message() << "\n";
      return kExitFailure;
    }
    const Json lines_read = res->is_object() && res->contains("lines") ? (*res)["lines"] : Json::array();
    for (const auto& l : lines_read)
      if (l.is_string()) std::cout << l.get<std::string>() << "\n";
    return kExitOk;
  }
  Status s = client.FollowLogs(name, lines, [](const std::string& event, const Json& data) {
    if (event == "log" && data.is_object()) std::cout << data.value("line", "") << "\n" << std::flush;
    if (event == "dropped") std::cout << "[llmdesk: some lines were dropped: this terminal read too slowly]\n";
    return true;
  });
  if (!s.ok()) {
    std::cerr << "llmdesk: " << s.message() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

int PortsCmd(Context& ctx, bool json) {
  auto cfg = ctx.LoadConfig(/*quiet_warnings=*/true);
  if (!cfg) return kExitBadConfig;
  control::ControlClient client(cfg->gateway);
  std::vector<manager::BackendStatus> ours;
  std::optional<pid_t> daemon_pid;
  if (auto daemon = FindDaemon(client)) {
    daemon_pid = daemon->value("pid", 0);
    if (auto backends = client.Backends(); backends.ok()) ours = ParseBackends(*backends);
  }
  auto report = control::BuildPortReport(*cfg, ours, daemon_pid);
  if (json) {
    Json out = Json::array();
    for (const auto& u : report) out.push_back(control::ToJson(u));
    std::cout << out.dump(2) << "\n";
  } else {
    if (!daemon_pid) std::cout << "(" << kNoDaemon << ")\n";
    std::cout << control::FormatPortTable(report);
  }
  return kExitOk;
}

}  // namespace

void RegisterManagerCommands(CLI::App& app, Context& ctx) {
  struct Args {
    std::vector<std::string> names;
    std::string name;
    bool json = false, follow = false, print_logs = false;
    bool on_demand = false;  // serve --on-demand: start no backend now
    size_t lines = 50;
  };
  auto args = std::make_shared<Args>();
  auto foreground = [&ctx, args](bool serve) {
    auto cfg = ctx.LoadConfig();
    ctx.exit_code = cfg ? RunForeground(*cfg, args->names, serve, args->print_logs, args->on_demand) : kExitBadConfig;
  };

  auto* up = app.add_subcommand("up", "Start backends in the foreground and show their status until Ctrl-C.\n"
                                      "Without names: the models marked autostart, or every local/command model "
                                      "when none is marked.");
  up->add_option("names", args->names, "Backends (model names) to start");
  up->add_flag("--logs", args->print_logs, "Also print the engines' output lines");
  up->callback([foreground] { foreground(false); });

  auto* serve = app.add_subcommand("serve", "Like `up`, plus the control API on gateway.host:gateway.port "
                                            "(for the GUI, scripts and the other llmdesk commands). Unlike `up` "
                                            "it keeps running when a backend fails: start it again through the API.");
  serve->add_option("names", args->names, "Backends to start (default as for `up`)");
  serve->add_flag("--logs", args->print_logs, "Also print the engines' output lines");
  serve->add_flag("--on-demand", args->on_demand,
                  "Start no backend now: each starts when a chat or the gateway needs it, or through the API "
                  "(the desktop app starts serve this way)")
      ->excludes(serve->get_option("names"));
  serve->callback([foreground] { foreground(true); });

  auto* status = app.add_subcommand("status", "Show the backends of the running daemon (or the configured ones)");
  status->add_flag("--json", args->json, "Machine-readable output");
  status->callback([&ctx, args] { ctx.exit_code = StatusCmd(ctx, args->json); });

  for (const char* action : {"start", "stop", "restart"}) {
    auto* cmd = app.add_subcommand(action, std::string("Ask the running `llmdesk serve` to ") + action + " a backend");
    cmd->add_option("name", args->name, "Backend (model name)")->required();
    std::string a = action;
    cmd->callback([&ctx, args, a] { ctx.exit_code = ActionCmd(ctx, a, args->name); });
  }

  auto* logs = app.add_subcommand("logs", "Print a backend's engine output (from the daemon, else its log file)");
  logs->add_option("name", args->name, "Backend (model name)")->required();
  logs->add_flag("-f,--follow", args->follow, "Keep printing new lines until Ctrl-C");
  logs->add_option("-n,--lines", args->lines, "How many recent lines to print")->capture_default_str();
  logs->callback([&ctx, args] { ctx.exit_code = LogsCmd(ctx, args->name, args->lines, args->follow); });

  auto* ports = app.add_subcommand("ports", "Every configured port: free, ours, or held by another process (PID, command)");
  ports->add_flag("--json", args->json, "Machine-readable output: [{port, owner, pid, command, used_by}]");
  ports->callback([&ctx, args] { ctx.exit_code = PortsCmd(ctx, args->json); });
}

}  // namespace llmdesk::cli
