// `llmdesk tool-server` (MCP over Streamable HTTP) and `llmdesk mcp-stdio` (MCP over stdin/stdout).
#include <signal.h>
#include <unistd.h>

#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "signals.h"
#include "mcp/fixtures/fixtures.h"
#include "mcp/http_transport.h"
#include "mcp/stdio_transport.h"
#include "net/http_policy.h"
#include "tools/tools.h"

namespace llmdesk::cli {
namespace {

struct McpFlags {
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<std::string> token;
  bool fixtures = false;
};

std::unique_ptr<mcp::Extension> Fixtures(bool enabled) {
  return enabled ? mcp::MakeConformanceFixtures() : nullptr;
}

}  // namespace

void RegisterMcpCommands(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<McpFlags>();

  auto* http = app.add_subcommand("tool-server", "Serve the tools over MCP Streamable HTTP (POST /mcp) until SIGINT/SIGTERM");
  http->add_option("--host", flags->host, "address to bind (default: tool_server.host, 127.0.0.1)");
  http->add_option("--port", flags->port, "port (default: tool_server.port, 8763)")->check(CLI::Range(0, 65535));
  http->add_option("--token", flags->token, "require 'Authorization: Bearer TOKEN' (default: tool_server.token)");
  http->add_flag("--conformance-fixtures", flags->fixtures,
                 "also serve the MCP conformance suite's test tools, resources and prompts");
  http->callback([&ctx, flags] {
    auto cfg = ctx.LoadConfig();
    if (!cfg) {
      ctx.exit_code = kExitBadConfig;
      return;
    }
    mcp::HttpOptions options;
    options.host = flags->host.value_or(cfg->tool_server.host);
    options.port = flags->port.value_or(cfg->tool_server.port);
    options.token = flags->token ? *flags->token : cfg->tool_server.token.value_or("");
    // Without a token, loopback is the only protection: refuse to offer the tools to the network.
    if (options.token.empty() && !net::IsLoopbackAddress(options.host)) {
      std::cerr << "llmdesk tool-server: --host " << options.host << " is not a loopback address and no token is "
                << "set: anyone who can reach this machine could run its tools; pass --token (or set "
                << "tool_server.token) or bind 127.0.0.1\n";
      ctx.exit_code = kExitBadConfig;
      return;
    }
    tools::Registry registry = tools::BuiltinTools(cfg->tool_server.tools);
    mcp::Server server(registry, Fixtures(flags->fixtures));
    mcp::HttpServer listener(server, options);
    StopSignals signals;
    StopSignals::Watch watch(signals, [&listener](int) { listener.Stop(); });
    if (Status bound = listener.Bind(); !bound.ok()) {
      std::cerr << "llmdesk tool-server: " << bound.message() << "\n";
      ctx.exit_code = kExitFailure;
      return;
    }
    spdlog::info("MCP tool server on http://{}:{}/mcp ({} tools{})", options.host, listener.port(),
                 registry.List().size(), flags->fixtures ? ", conformance fixtures" : "");
    if (Status ran = listener.Run(); !ran.ok()) {
      std::cerr << "llmdesk tool-server: " << ran.message() << "\n";
      ctx.exit_code = kExitFailure;
    }
    spdlog::info("MCP tool server stopped");
  });

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
    mcp::Server server(registry, Fixtures(flags->fixtures));
    std::atomic<bool> stop{false};
    StopSignals signals;
    StopSignals::Watch watch(signals, [&stop](int) { stop = true; });
    if (Status s = mcp::RunStdio(server, STDIN_FILENO, STDOUT_FILENO, &stop); !s.ok()) {
      std::cerr << "llmdesk mcp-stdio: " << s.message() << "\n";
      ctx.exit_code = kExitFailure;
    }
  });
}

}  // namespace llmdesk::cli
