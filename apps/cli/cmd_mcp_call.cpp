// `llmdesk mcp call SERVER TOOL [ARGUMENTS]`: one tools/call on a server of mcp_servers:, connected directly (a stdio
// server is started for the call and stopped after it). Part of the Windows build: the stdio MCP client there.
#include <chrono>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "common/json_read.h"
#include "mcp/client.h"
#include "net/http_client.h"

namespace llmdesk::cli {
namespace {

struct McpCallFlags {
  std::string server;
  std::string tool;
  std::string arguments = "{}";
  bool json = false;
};

std::chrono::milliseconds Seconds(double s) { return std::chrono::milliseconds(static_cast<long long>(s * 1000)); }

int McpCall(Context& ctx, const McpCallFlags& flags) {
  // stdout carries the tool's answer only: every log line goes to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("llmdesk-stderr"));
  auto cfg = ctx.LoadConfig(/*quiet_warnings=*/true);
  if (!cfg) return kExitBadConfig;
  const config::McpServerConfig* server = nullptr;
  std::string names;
  for (const auto& s : cfg->mcp_servers) {
    if (s.name == flags.server) server = &s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  if (!server) {
    std::cerr << "llmdesk mcp call: no MCP server named '" << flags.server << "' under mcp_servers: ("
              << (names.empty() ? "none is configured" : "configured: " + names) << ")\n";
    return kExitBadConfig;
  }
  const nlohmann::json arguments = nlohmann::json::parse(flags.arguments, nullptr, false);
  if (!arguments.is_object()) {
    std::cerr << "llmdesk mcp call: ARGUMENTS must be a JSON object, e.g. '{\"expression\": \"2+2\"}'\n";
    return kExitBadConfig;
  }
  mcp::ServerSpec spec{.name = server->name, .command = server->command, .env = server->env, .url = server->url,
                       .headers = server->headers, .connect_timeout = Seconds(server->connect_timeout_s)};
  net::HttpClient http;
  auto client = mcp::Client::Connect(spec, &http);
  if (!client.ok()) {
    std::cerr << "llmdesk mcp call: " << client.status().message() << "\n";
    return kExitFailure;
  }
  const auto deadline = std::chrono::steady_clock::now() + Seconds(server->timeout_s.value_or(cfg->chat.tool_timeout_s));
  auto result = (*client)->CallTool(flags.tool, arguments, deadline);
  if (!result.ok()) {
    std::cerr << "llmdesk mcp call: " << result.status().message() << "\n";
    return kExitFailure;
  }
  const bool is_error = JsonBool(*result, "isError");  // the server's reply: its type is checked, never trusted
  if (flags.json) std::cout << PrettyJson(*result) << "\n";
  else (is_error ? std::cerr : std::cout) << mcp::ResultText(*result) << "\n";
  return is_error ? kExitFailure : kExitOk;
}

}  // namespace

void RegisterMcpCallCommand(CLI::App& mcp_group, Context& ctx) {
  auto flags = std::make_shared<McpCallFlags>();
  auto* call = mcp_group.add_subcommand("call", "Call one tool of a server under mcp_servers: and print its answer "
                                                "(exit 1 when the call fails or the tool reports an error)");
  call->add_option("SERVER", flags->server, "the server's name under mcp_servers:")->required();
  call->add_option("TOOL", flags->tool, "the tool's name")->required();
  call->add_option("ARGUMENTS", flags->arguments, "the arguments as a JSON object (default {})");
  call->add_flag("--json", flags->json, "print the whole tools/call result as JSON");
  call->callback([&ctx, flags] { ctx.exit_code = McpCall(ctx, *flags); });
}

}  // namespace llmdesk::cli
