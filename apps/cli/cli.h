// apps/cli/cli.h — shared plumbing of the `llmdesk` front end. Each command group lives in its own
// cmd_*.cpp and registers itself here; business logic stays in llmdesk_core.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

#include "common/cancel.h"
#include "config/config.h"
#include "engine/devices.h"
#include "models/pull.h"

namespace llmdesk::cli {

// Exit codes shared by all commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadConfig = 2;

struct Context {
  std::optional<std::string> config_path;  // --config FILE
  int exit_code = kExitOk;

  // Finds and loads the config (or built-in defaults), printing every diagnostic to stderr.
  // Returns nullopt when the config has errors; the caller exits with kExitBadConfig.
  std::optional<config::Config> LoadConfig(bool quiet_warnings = false) const;
};

void RegisterConfigCommands(CLI::App& app, Context& ctx);
void RegisterDoctorCommand(CLI::App& app, Context& ctx);
void RegisterMcpCommands(CLI::App& app, Context& ctx);
void RegisterManagerCommands(CLI::App& app, Context& ctx);
void RegisterHistoryCommands(CLI::App& app, Context& ctx);
void RegisterChatCommand(CLI::App& app, Context& ctx);
void RegisterModelCommands(CLI::App& app, Context& ctx);
void RegisterDevicesCommand(CLI::App& app, Context& ctx);

// The engine's devices (cmd_devices.cpp), for `devices` and `doctor`: the table and the notes.
Result<engine::DeviceReport> ProbeConfiguredEngine(const config::Config& cfg);
void PrintDevices(const engine::DeviceReport& report, std::ostream& out, const std::string& indent);
void RegisterRpcWorkerCommand(CLI::App& app, Context& ctx);  // cmd_rpc_worker.cpp (issue 14)

// `j` indented for a terminal (--json output); bytes that are not UTF-8 shown as U+FFFD, never a throw.
std::string PrettyJson(const nlohmann::json& j);

class StopSignals;
// Before a start (up, serve, chat): `hf:` models of `names` found or pulled, and the offline first run's demo
// model (models/prepare.h), with progress and notes printed. nullopt (message printed) = start nothing.
std::optional<config::Config> PrepareForStart(const config::Config& cfg, const std::vector<std::string>& names,
                                             StopSignals& signals);

// Pulls `ref` with the config's hub settings, rendering progress on stderr (cmd_models.cpp).
Result<models::PullResult> PullWithProgress(const config::Config& cfg, const models::ModelRef& ref,
                                            const CancelToken* cancel);

}  // namespace llmdesk::cli
