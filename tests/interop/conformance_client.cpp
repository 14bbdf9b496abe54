// llmdesk-conformance-client — drives llmdesk's MCP client (mcp::Client) through the official conformance
// suite's client scenarios. The suite starts a test server per scenario and runs
//
//   llmdesk-conformance-client URL        with MCP_CONFORMANCE_SCENARIO=<scenario> in the environment
//
// Every scenario: connect (initialize + notifications/initialized), list the tools, then call the tool(s)
// the scenario's server offers for it; exit 0 when each step succeeded, 1 otherwise (the suite's checks
// decide conformance; the exit code tells the suite whether the client thinks it got through).
// The client declares elicitation, keeps the server's standalone event stream open (ClientOptions::listen)
// and answers elicitation with the schema's defaults (AcceptElicitationWithDefaults).
// Nothing here is protocol logic: that lives in src/mcp; this only picks what to call per scenario.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

#include "mcp/client.h"
#include "net/http_client.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using llmdesk::mcp::Client;

struct ToolCall {
  std::string name;
  json arguments;
  std::string expect;  // a piece of the result text that shows the call reached the tool
};

// The inputSchema of the listed tool `name` (null when absent).
json SchemaOf(const std::vector<json>& tools, const std::string& name) {
  for (const auto& t : tools)
    if (t.value("name", "") == name && t.contains("inputSchema")) return t["inputSchema"];
  return nullptr;
}

// What each scenario's test server offers to be called (see the suite's scenario sources).
std::vector<ToolCall> CallsFor(const std::string& scenario, const std::vector<json>& tools) {
  if (scenario == "tools_call") return {{"add_numbers", {{"a", 5}, {"b", 3}}, "8"}};
  if (scenario == "json-schema-2020-12-preservation")  // suite 0.2.0: hand the schema back as we hold it
    return {{"json_schema_echo", {{"schema", SchemaOf(tools, "json_schema_2020_12_tool")}}, "echoed"}};
  if (scenario == "sse-retry") return {{"test_reconnection", json::object(), "completed"}};
  if (scenario == "elicitation-sep1034-client-defaults")
    return {{"test_client_elicitation_defaults", json::object(), "Elicitation completed"}};
  return {};  // initialize, auth/*: connecting and listing the tools is the whole exchange
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "llmdesk-conformance-client: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Fail("usage: llmdesk-conformance-client SERVER_URL (scenario in MCP_CONFORMANCE_SCENARIO)");
  const char* env = std::getenv("MCP_CONFORMANCE_SCENARIO");
  const std::string scenario = env ? env : "";
  const std::string url = argv[argc - 1];  // the suite appends the URL after any flags of the command
  spdlog::set_level(spdlog::level::info);

  llmdesk::net::HttpClient http;
  llmdesk::mcp::ClientOptions options;
  options.capabilities = {{"elicitation", {{"form", json::object()}}}};
  options.listen = true;  // servers may send their requests on the standalone stream (the suite's SDK server does)
  options.on_request = [](const std::string& method, const json& params) -> llmdesk::Result<json> {
    if (method == "elicitation/create") return llmdesk::mcp::AcceptElicitationWithDefaults(params);
    return llmdesk::Status::NotFound("llmdesk-conformance-client does not serve " + method);
  };
  auto client = Client::Connect({.name = "conformance", .url = url}, &http, options);
  if (!client.ok()) return Fail("connect: " + client.status().ToString());
  std::printf("scenario %s: connected, protocol %s\n", scenario.c_str(), (*client)->protocol_version().c_str());

  auto tools = (*client)->ListTools();
  if (!tools.ok()) return Fail("tools/list: " + tools.status().ToString());
  std::printf("tools/list: %zu tool(s)\n", tools->size());

  for (const auto& call : CallsFor(scenario, *tools)) {
    auto result = (*client)->CallTool(call.name, call.arguments, Clock::now() + std::chrono::seconds(20));
    if (!result.ok()) return Fail("tools/call " + call.name + ": " + result.status().ToString());
    const std::string text = llmdesk::mcp::ResultText(*result);
    std::printf("tools/call %s: %s\n", call.name.c_str(), text.c_str());
    if (result->value("isError", false) || text.find(call.expect) == std::string::npos)
      return Fail("tools/call " + call.name + " did not give the expected result (wanted '" + call.expect + "')");
  }
  return 0;
}
