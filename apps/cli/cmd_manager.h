// apps/cli/cmd_manager.h — private to the manager commands (cmd_manager.cpp, cmd_up.cpp).
#pragma once

#include <string>
#include <vector>

#include "cli.h"

namespace llmdesk::cli {

// `llmdesk up` (serve=false) and `llmdesk serve` (serve=true): runs until SIGINT/SIGTERM; returns the
// exit code. `up` also returns kExitFailure when a backend failed and nothing else runs.
// start_none: start no backend now (serve --on-demand); they start on demand.
int RunForeground(const config::Config& cfg, const std::vector<std::string>& names, bool serve, bool print_logs,
                  bool start_none = false);

}  // namespace llmdesk::cli
