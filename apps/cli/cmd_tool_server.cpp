// `llmdesk tool-server`: the built-in tools over MCP Streamable HTTP (POST /mcp) until SIGINT/SIGTERM (Ctrl+C
// or Ctrl+Break on Windows). Part of the first Windows build (docs/WINDOWS.md).
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli.h"
#include "mcp/fixtures/fixtures.h"
#include "mcp/http_transport.h"
#include "net/http_policy.h"
#include "signals.h"
#include "tools/tools.h"

namespace llmdesk::cli {
namespace {

struct ToolServerFlags {
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<std::string> token;
  bool fixtures = false;
};

}  // namespace

void RegisterToolServerCommand(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<ToolServerFlags>();
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
    mcp::Server server(registry, flags->fixtures ? mcp::MakeConformanceFixtures() : nullptr);
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
}

}  // namespace llmdesk::cli
