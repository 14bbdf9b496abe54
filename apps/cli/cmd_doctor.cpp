// `llmdesk doctor`: is everything in place to run? Engine, config, ports.
#include <iostream>

#include "cli.h"
#include "engine/engine.h"
#include "net/ports.h"

namespace llmdesk::cli {
namespace {

enum class Mark { kOk, kWarn, kFail };
void Line(Mark mark, const std::string& what) {
  std::cout << (mark == Mark::kOk ? "  ok    " : mark == Mark::kWarn ? "  warn  " : "  FAIL  ") << what << "\n";
}
void Line(bool ok, const std::string& what) { Line(ok ? Mark::kOk : Mark::kFail, what); }

// Devices (issue 15): what the engine sees; a missing GPU driver is a warning, never a failure.
void DoctorDevices(const config::Config& cfg) {
  auto report = ProbeConfiguredEngine(cfg);
  if (!report.ok()) return Line(Mark::kWarn, "devices: " + report.status().message());
  std::string names;
  for (const auto& n : report->Names()) names += (names.empty() ? "" : ", ") + n;
  Line(report->notes.empty() ? Mark::kOk : Mark::kWarn, "devices: " + names + " (`llmdesk devices` for details)");
  PrintDevices(*report, std::cout, "        ");
}

}  // namespace

void RegisterDoctorCommand(CLI::App& app, Context& ctx) {
  auto* doctor = app.add_subcommand("doctor", "Check the engine, the config and the ports");
  doctor->callback([&ctx] {
    bool healthy = true;
    auto cfg = ctx.LoadConfig();
    Line(cfg.has_value(), cfg ? "config: " + (cfg->source.empty() ? std::string("built-in defaults") : cfg->source)
                              : std::string("config has errors (see above)"));
    if (!cfg) {
      ctx.exit_code = kExitBadConfig;
      return;
    }
    auto engine = engine::LocateLlamaServer(cfg->engine, config::ProcessEnv());
    if (engine.ok()) {
      auto version = engine::LlamaServerVersion(engine->path);
      Line(version.ok(), "engine: " + engine->path.string() + " (via " + engine->found_via + ") " +
                             (version.ok() ? *version : version.status().message()));
      healthy &= version.ok();
    } else {
      Line(false, "engine: " + engine.status().message());
      healthy = false;
    }
    if (engine.ok()) DoctorDevices(*cfg);
    auto report = [&](const std::string& what, const std::string& host, int port) {
      auto holder = net::FindPortHolder(port);
      bool free = !holder.has_value();
      Line(free ? Mark::kOk : Mark::kWarn, what + ": " + host + ":" + std::to_string(port) + (free ? " is free" : " " + holder->Describe()));
    };
    report("gateway", cfg->gateway.host, cfg->gateway.port);
    report("tool server", cfg->tool_server.host, cfg->tool_server.port);
    for (const auto& m : cfg->models) {
      if (m.kind == config::ModelConfig::Kind::kRemote) {
        Line(true, "model " + m.name + ": remote " + m.url);
        continue;
      }
      auto startable = config::CheckModelStartable(m);
      Line(startable.ok() ? Mark::kOk : Mark::kWarn, "model " + m.name + ": " + (startable.ok() ? "ready to start" : startable.message()));
      if (m.port) report("model " + m.name + " port", "127.0.0.1", m.port);
    }
    if (!healthy) ctx.exit_code = kExitFailure;
  });
}

}  // namespace llmdesk::cli
