// The commands of llmdesk.exe so far (cli.h: RegisterCommands; the plan in docs/WINDOWS.md), and its command line
// taken as UTF-16 from Windows and handed to CLI11 as UTF-8 (main's argv is in the ANSI code page).
#include <windows.h>

#include <shellapi.h>

#include "cli.h"
#include "platform/utf16.h"

namespace llmdesk::cli {

void RegisterCommands(CLI::App& app, Context& ctx) {
  // What we print is UTF-8: the console shows it as such (a pipe gets the bytes as they are).
  SetConsoleOutputCP(CP_UTF8);
  RegisterConfigCommands(app, ctx);
  RegisterToolServerCommand(app, ctx);
  // The MCP host's `list` and `import` need the chat component (not in the Windows build yet): `call` only.
  auto* mcp_group = app.add_subcommand("mcp", "External MCP servers (mcp_servers:): call their tools");
  mcp_group->require_subcommand(1);
  RegisterMcpCallCommand(*mcp_group, ctx);
  RegisterMcpStdioCommand(app, ctx);
}

void RegisterPlatformConfigCommands(CLI::App&, Context&) {}  // `config reload` needs a running `up` (later)

void ParseCommandLine(CLI::App& app, int argc, char** argv) {
  int count = 0;
  wchar_t** wide = CommandLineToArgvW(GetCommandLineW(), &count);
  if (wide == nullptr) return app.parse(argc, argv);
  std::vector<std::string> args;  // CLI11 takes them last first, without the program name
  for (int i = count - 1; i >= 1; --i) args.push_back(platform::Narrow(wide[i]));
  LocalFree(wide);
  app.parse(args);
}

}  // namespace llmdesk::cli
