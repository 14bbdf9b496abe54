// `llmdesk config check [FILE]` and `llmdesk config show [--json]` (`config reload`: cmd_config_reload.cpp).
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "platform/user_dirs.h"

namespace llmdesk::cli {

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
      std::cerr << loaded.errors().size() << " error(s) in " << platform::PathToUtf8(*path) << "\n";
      ctx.exit_code = kExitBadConfig;
      return;
    }
    std::cout << platform::PathToUtf8(*path) << ": ok (" << loaded.config.models.size() << " model(s), "
              << loaded.warnings().size() << " warning(s))\n";
  });

  RegisterConfigReloadCommand(*group, ctx);  // between check and show, where `llmdesk config --help` lists them

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
