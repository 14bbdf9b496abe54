// The commands of llmdesk.exe (cli.h: RegisterCommands; docs/WINDOWS.md), and its command line
// taken as UTF-16 from Windows and handed to CLI11 as UTF-8 (main's argv is in the ANSI code page).
#include <windows.h>

#include <shellapi.h>

#include "cli.h"
#include "platform/utf16.h"

namespace llmdesk::cli {

void RegisterCommands(CLI::App& app, Context& ctx) {
  // What we print is UTF-8: the console shows it as such (a pipe gets the bytes as they are). The status table of
  // `up` redraws itself with VT sequences, which a Windows 10+ console obeys once asked to.
  SetConsoleOutputCP(CP_UTF8);
  HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
  DWORD mode = 0;
  if (out != INVALID_HANDLE_VALUE && GetConsoleMode(out, &mode))
    SetConsoleMode(out, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING);
  // As on Linux, less what Windows lacks so far: doctor and devices (read /proc and /sys), rpc-worker.
  RegisterConfigCommands(app, ctx);
  RegisterToolServerCommand(app, ctx);
  RegisterMcpCommands(app, ctx);
  RegisterManagerCommands(app, ctx);
  RegisterHistoryCommands(app, ctx);
  RegisterChatCommand(app, ctx);
  RegisterModelCommands(app, ctx);
}


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
