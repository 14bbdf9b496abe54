// llmdesk — command-line front end.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.h"

namespace llmdesk::cli {

std::string PrettyJson(const nlohmann::json& j) { return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace); }

std::optional<config::Config> Context::LoadConfig(bool quiet_warnings) const {
  auto env = config::ProcessEnv();
  auto path = config::FindConfigFile(config_path, env);
  if (!path) return config::Defaults(env);
  auto loaded = config::LoadFile(*path, env);
  for (const auto& d : loaded.diagnostics) {
    if (d.severity == config::Diagnostic::Severity::kError || !quiet_warnings) std::cerr << d.ToString() << "\n";
  }
  if (!loaded.ok()) {
    std::cerr << loaded.errors().size() << " error(s) in " << path->string() << "; nothing was started.\n";
    return std::nullopt;
  }
  return loaded.config;
}

}  // namespace llmdesk::cli

int main(int argc, char** argv) {
  using namespace llmdesk::cli;
  CLI::App app{"llmdesk — local LLM servers, tools and chat", "llmdesk"};
  app.set_version_flag("--version", std::string("llmdesk ") + LLMDESK_VERSION);
  app.require_subcommand(1);
  Context ctx;
  app.add_option("--config", ctx.config_path, "llm_backends.yaml to use (default: $LLMDESK_CONFIG, "
                                              "./llm_backends.yaml, $XDG_CONFIG_HOME/llmdesk/llm_backends.yaml)");
  RegisterCommands(app, ctx);
  try {
    ParseCommandLine(app, argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return ctx.exit_code;
}
