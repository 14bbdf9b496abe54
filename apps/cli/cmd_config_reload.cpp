// `llmdesk config reload`: asks the running stack (control API) to re-read its config, on both systems (Windows has
// no SIGHUP: this is its only way).
#include <iostream>

#include "control/control.h"

#include "cli.h"

namespace llmdesk::cli {

void RegisterConfigReloadCommand(CLI::App& config_group, Context& ctx) {
  auto* reload = config_group.add_subcommand("reload", "Make the running llmdesk up/serve re-read its config file and apply "
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
}

}  // namespace llmdesk::cli
