// `llmdesk mcp-stdio`: the built-in tools over MCP stdio (one JSON-RPC message per line on stdin/stdout) until end of
// input or SIGINT/SIGTERM (Ctrl+C / Ctrl+Break on Windows). The same on both systems (mcp/stdio_transport.h).
#include <atomic>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "mcp/fixtures/fixtures.h"
#include "mcp/stdio_transport.h"
#include "signals.h"
#include "tools/tools.h"

namespace llmdesk::cli {
namespace {

constexpr int kStdinFd = 0, kStdoutFd = 1;  // the C runtime's numbers on both systems

struct McpStdioFlags {
  bool fixtures = false;
};

}  // namespace

void RegisterMcpStdioCommand(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<McpStdioFlags>();
  auto* stdio = app.add_subcommand("mcp-stdio", "Serve the tools over MCP stdio (one JSON-RPC message per line)");
  stdio->add_flag("--conformance-fixtures", flags->fixtures,
                  "also serve the MCP conformance suite's test tools, resources and prompts");
  stdio->callback([&ctx, flags] {
    // stdout carries protocol messages only: every log line goes to stderr.
    spdlog::set_default_logger(spdlog::stderr_color_mt("llmdesk-stderr"));
    auto cfg = ctx.LoadConfig(/*quiet_warnings=*/true);
    if (!cfg) {
      ctx.exit_code = kExitBadConfig;
      return;
    }
    tools::Registry registry = tools::BuiltinTools(cfg->tool_server.tools);
    mcp::Server server(registry, flags->fixtures ? mcp::MakeConformanceFixtures() : nullptr);
    std::atomic<bool> stop{false};
    StopSignals signals;
    StopSignals::Watch watch(signals, [&stop](int) { stop = true; });
    if (Status s = mcp::RunStdio(server, kStdinFd, kStdoutFd, &stop); !s.ok()) {
      std::cerr << "llmdesk mcp-stdio: " << s.message() << "\n";
      ctx.exit_code = kExitFailure;
    }
  });
}

}  // namespace llmdesk::cli
