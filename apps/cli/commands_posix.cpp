// The commands of llmdesk on Linux (cli.h: RegisterCommands), in the order `llmdesk --help` lists them.
#include "cli.h"

namespace llmdesk::cli {

void RegisterCommands(CLI::App& app, Context& ctx) {
  RegisterConfigCommands(app, ctx);
  RegisterDoctorCommand(app, ctx);
  RegisterToolServerCommand(app, ctx);
  RegisterMcpCommands(app, ctx);
  RegisterManagerCommands(app, ctx);
  RegisterHistoryCommands(app, ctx);
  RegisterChatCommand(app, ctx);
  RegisterModelCommands(app, ctx);
  RegisterDevicesCommand(app, ctx);
  RegisterRpcWorkerCommand(app, ctx);
}

void ParseCommandLine(CLI::App& app, int argc, char** argv) { app.parse(argc, argv); }

}  // namespace llmdesk::cli
