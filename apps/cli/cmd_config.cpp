// `llmdesk config check [FILE]`, `llmdesk config show [--json]` and `llmdesk config reload`.
#include <algorithm>
#include <iostream>

#include "control/control.h"

#include <nlohmann/json.hpp>

#include "cli.h"
#include "engine/devices.h"
#include "engine/engine.h"

namespace llmdesk::cli {
namespace {

// `device:` entries need the engine to check (issue 15): one `llama-server --list-devices` per distinct env,
// only when a model names a GPU device. No engine: a warning, the rest of the check stands.
void AddDeviceDiagnostics(config::LoadResult& loaded) {
  const auto& models = loaded.config.models;
  if (std::none_of(models.begin(), models.end(), [](const auto& m) { return !m.device.empty() && m.device != "cpu"; }))
    return;
  auto located = engine::LocateLlamaServer(loaded.config.engine, config::ProcessEnv());
  if (!located.ok()) {
    loaded.diagnostics.push_back({config::Diagnostic::Severity::kWarning, {loaded.config.source, 0, 0}, "",
                                  "devices not checked: " + located.status().message()});
    return;
  }
  for (auto& d : engine::CheckModelDevices(loaded.config, located->path)) loaded.diagnostics.push_back(std::move(d));
}

}  // namespace

void RegisterConfigCommands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("config", "Check or show the configuration");
  group->require_subcommand(1);

  auto* check = group->add_subcommand("check", "Validate a config file (exit 0 valid, 2 invalid)");
  auto file = std::make_shared<std::string>();
  check->add_option("FILE", *file, "the file to check (default: the one llmdesk would use)");
  check->callback([&ctx, file] {
    auto env = config::ProcessEnv();
    auto path = config::FindConfigFile(file->empty() ? ctx.config_path : std::optional(*file), env);
    if (!path) {
      std::cout << "no config file found; llmdesk uses its built-in defaults\n";
      return;
    }
    auto loaded = config::LoadFile(*path, env);
    if (loaded.ok()) AddDeviceDiagnostics(loaded);
    for (const auto& d : loaded.diagnostics) std::cerr << d.ToString() << "\n";
    if (!loaded.ok()) {
      std::cerr << loaded.errors().size() << " error(s) in " << path->string() << "\n";
      ctx.exit_code = kExitBadConfig;
      return;
    }
    std::cout << path->string() << ": ok (" << loaded.config.models.size() << " model(s), "
              << loaded.warnings().size() << " warning(s))\n";
  });

  auto* reload = group->add_subcommand("reload", "Make the running llmdesk up/serve re-read its config file and apply "
                                                  "it (as SIGHUP does); prints what changed");
  reload->callback([&ctx] {
    auto cfg = ctx.LoadConfig(/*quiet_warnings=*/true);
    if (!cfg) return void(ctx.exit_code = kExitBadConfig);
    control::ControlClient client(cfg->gateway);
    auto report = client.ReloadConfig();
    if (!report.ok()) {
      std::cerr << "llmdesk: " << report.status().message() << "\n";
      ctx.exit_code = report.status().code() == Status::Code::kInvalidArgument ? kExitBadConfig : kExitFailure;
      return;
    }
    for (const auto& line : control::ReloadReportLines(*report)) std::cout << line << "\n";
  });

  auto* show = group->add_subcommand("show", "Print the effective configuration");
  auto json = std::make_shared<bool>(false);
  show->add_flag("--json", *json, "print JSON instead of YAML");
  show->callback([&ctx, json] {
    auto cfg = ctx.LoadConfig(/*quiet_warnings=*/*json);
    if (!cfg) {
      ctx.exit_code = kExitBadConfig;
      return;
    }
    // Paths need not be UTF-8: invalid bytes become U+FFFD instead of an exception.
    if (*json) std::cout << config::ToJson(*cfg).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    else std::cout << "# source: " << (cfg->source.empty() ? "built-in defaults" : cfg->source) << "\n"
                   << config::ToYaml(*cfg);
  });
}

}  // namespace llmdesk::cli
