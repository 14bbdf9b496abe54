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

// The commands this platform has (commands_posix.cpp: all of them; commands_win32.cpp: the first Windows build's,
// docs/WINDOWS.md), and the command line as UTF-8 (POSIX: argv as given; Windows: GetCommandLineW, so non-ASCII
// file names survive). ParseCommandLine throws CLI::ParseError as CLI::App::parse does.
void RegisterCommands(CLI::App& app, Context& ctx);
void ParseCommandLine(CLI::App& app, int argc, char** argv);

void RegisterConfigCommands(CLI::App& app, Context& ctx);  // config check, config show
void RegisterConfigReloadCommand(CLI::App& config_group, Context& ctx);  // config reload (the group from above)
// `config check`'s device diagnostics (issue 15) added to a loaded config: cmd_config_devices.cpp asks the engine;
// on Windows (cmd_config_devices_win32.cpp) the engine is CPU-only, so a GPU `device:` gets a warning saying so.
void AddDeviceDiagnostics(config::LoadResult& loaded);
void RegisterToolServerCommand(CLI::App& app, Context& ctx);
void RegisterDoctorCommand(CLI::App& app, Context& ctx);
void RegisterMcpCommands(CLI::App& app, Context& ctx);
void RegisterMcpStdioCommand(CLI::App& app, Context& ctx);         // mcp-stdio (cmd_mcp_stdio.cpp)
void RegisterMcpCallCommand(CLI::App& mcp_group, Context& ctx);    // mcp call (cmd_mcp_call.cpp), added to the group
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
