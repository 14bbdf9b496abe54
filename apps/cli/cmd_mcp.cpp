// The MCP host's commands: `llmdesk mcp list [--json]` and `llmdesk mcp import FILE [--overwrite]`; `mcp call` is
// cmd_mcp_call.cpp, `llmdesk mcp-stdio` (MCP over stdin/stdout) cmd_mcp_stdio.cpp, `llmdesk tool-server`
// cmd_tool_server.cpp.
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "chat/mcp_host.h"
#include "cli.h"
#include "common/json_read.h"
#include "config/mcp_import.h"
#include "control/control.h"
#include "net/http_client.h"

namespace llmdesk::cli {
namespace {

// The MCP servers of the running stack for this config (GET /api/mcp/servers), else of a host of our own
// that connects to them now (each bounded by its connect timeout). {"source": "stack"|"direct", "servers"}.
nlohmann::json ListServers(const config::Config& cfg) {
  control::ControlClient client(cfg.gateway);
  if (client.Health().ok()) {
    auto servers = client.McpServers();
    if (servers.ok() && servers->is_array()) return {{"source", "stack"}, {"url", client.url()}, {"servers", *servers}};
    std::cerr << "(the running llmdesk did not list its MCP servers: "
              << (servers.ok() ? std::string("not a list") : servers.status().message()) << "; connecting directly)\n";
  }
  net::HttpClient http;
  // One attempt each: a failed server is reported, not tried again while we list.
  chat::McpHost host(http, cfg.chat, chat::ServerSpecs(cfg, ""), {.backoff_initial = std::chrono::hours(1)});
  (void)host.Tools();  // waits for every server's first attempt
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : host.Servers()) {
    out.push_back(chat::ToJson(s));
    out.back().erase("retry_in_ms");  // this host ends with the listing: it tries nothing again
  }
  return {{"source", "direct"}, {"servers", out}};
}

int McpList(Context& ctx, bool json) {
  // stdout carries the listing only (--json is read by programs): every log line goes to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("llmdesk-stderr"));
  auto cfg = ctx.LoadConfig(/*quiet_warnings=*/json);
  if (!cfg) return kExitBadConfig;
  nlohmann::json listing = ListServers(*cfg);
  // The listing may come from the running stack (another process): read it without trusting its types.
  const nlohmann::json servers = listing.contains("servers") && listing["servers"].is_array() ? listing["servers"]
                                                                                              : nlohmann::json::array();
  bool all_connected = true;
  for (const auto& s : servers) all_connected = all_connected && JsonBool(s, "connected");
  if (json) {
    std::cout << PrettyJson(listing) << "\n";
    return all_connected ? kExitOk : kExitFailure;
  }
  if (JsonString(listing, "source") == "stack")
    std::cout << "# the servers of the running llmdesk (" << JsonString(listing, "url") << ")\n";
  else std::cout << "# no llmdesk up/serve runs for this config: connected to each server directly (llmdesk's own "
                    "tools are served by `llmdesk up`)\n";
  if (servers.empty()) std::cout << "no MCP servers configured (add some under mcp_servers:, or `llmdesk mcp import FILE`)\n";
  for (const auto& s : servers) {
    const nlohmann::json tools = s.is_object() && s.contains("tools") && s["tools"].is_array() ? s["tools"]
                                                                                               : nlohmann::json::array();
    std::cout << JsonString(s, "name") << "  (" << JsonString(s, "transport") << ")  " << JsonString(s, "state");
    if (JsonBool(s, "connected")) std::cout << ", " << tools.size() << " tools";
    else if (s.contains("retry_in_ms") && JsonInt(s, "failures") > 0)
      std::cout << " (attempt " << JsonInt(s, "attempts") << " failed; next in " << JsonInt(s, "retry_in_ms") << " ms)";
    std::cout << "\n";
    for (const auto& t : tools) std::cout << "    " << JsonString(t, "name") << "  " << JsonString(t, "description") << "\n";
    if (!JsonBool(s, "connected") && !JsonString(s, "error").empty()) std::cout << "    " << JsonString(s, "error") << "\n";
  }
  return all_connected ? kExitOk : kExitFailure;
}

#if !defined(_WIN32)  // config/mcp_import.cpp's atomic replace is POSIX-only so far (docs/WINDOWS.md)
int McpImport(Context& ctx, const std::string& file, bool overwrite) {
  auto env = config::ProcessEnv();
  auto found = config::FindConfigFile(ctx.config_path, env);
  std::filesystem::path target = found ? *found : config::UserConfigPath(env);
  if (target.empty()) {
    std::cerr << "llmdesk mcp import: no config file found and neither XDG_CONFIG_HOME nor HOME is set; pass --config FILE\n";
    return kExitFailure;
  }
  auto result = config::ImportMcpJsonFile(file, target, overwrite, env);
  if (!result.ok()) {
    std::cerr << "llmdesk mcp import: " << result.status().message() << "\n";
    return result.status().code() == Status::Code::kInvalidArgument ? kExitBadConfig : kExitFailure;
  }
  for (const auto& s : result->servers)
    std::cout << config::ToString(s.outcome) << "  " << s.name << (s.note.empty() ? "" : ": " + s.note) << "\n";
  if (result->servers.empty()) std::cout << file << " names no servers\n";
  std::cout << (result->changed ? "wrote " : "nothing to change in ") << target.string() << "\n";
  if (result->changed) std::cout << "(a running llmdesk up/serve connects them after a restart)\n";
  return kExitOk;
}
#endif

}  // namespace

void RegisterMcpCommands(CLI::App& app, Context& ctx) {
  auto* host = app.add_subcommand("mcp", "External MCP servers (mcp_servers:): list them with their tools, import an mcp.json");
  host->require_subcommand(1);
  auto list_json = std::make_shared<bool>(false);
  auto* list = host->add_subcommand("list", "Servers, transport, state (connected / error with the reason) and tools; "
                                            "asks the running llmdesk, else connects itself. Exit 1 when one is not connected");
  list->add_flag("--json", *list_json, "Print {source, servers: [...]} as JSON");
  list->callback([&ctx, list_json] { ctx.exit_code = McpList(ctx, *list_json); });
#if !defined(_WIN32)
  auto import_file = std::make_shared<std::string>();
  auto overwrite = std::make_shared<bool>(false);
  auto* import = host->add_subcommand("import", "Add the servers of a Cursor / Claude Desktop mcp.json to the config in "
                                                "use (created when there is none); existing lines are kept as they are");
  import->add_option("FILE", *import_file, "the mcp.json ({\"mcpServers\": {...}})")->required();
  import->add_flag("--overwrite", *overwrite, "replace servers whose name is already configured (default: keep them)");
  import->callback([&ctx, import_file, overwrite] { ctx.exit_code = McpImport(ctx, *import_file, *overwrite); });
#endif

  RegisterMcpCallCommand(*host, ctx);
  RegisterMcpStdioCommand(app, ctx);
}

}  // namespace llmdesk::cli
