// tools/tools.h — the built-in tools the MCP tool server (and the chat) offer, and their registry.
//
// A Tool is plain data plus a `run` function; the Registry owns the tools and is the single entry point
// for calling one: it validates the arguments against the tool's inputSchema first, so a tool's `run`
// only sees well-formed arguments. Tool failures (bad expression, unknown place, network down) come back
// as ToolResult with is_error = true — they are answers for the model, not protocol errors. Only an
// unknown tool name is a Status (NotFound), which the MCP layer maps to JSON-RPC -32602.
//
// Threads: the Registry is filled once at setup (Add), then Find/List/Call may be used concurrently from
// any number of threads; tools keep no shared mutable state (e.g. the calculator builds a parser per call).
// Exceptions never leave Call(): a tool that throws becomes an error result.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace llmdesk::tools {

struct ToolResult {
  nlohmann::json content = nlohmann::json::array();   // MCP content blocks, e.g. [{"type":"text","text":"4"}]
  std::optional<nlohmann::json> structured;            // structuredContent (when the tool has outputSchema)
  bool is_error = false;                               // tool failures are results, not protocol errors
  static ToolResult Text(std::string text);
  static ToolResult Error(std::string message);        // is_error + one text block
};

// Given to a running tool: cancellation and progress. Tools must check `cancelled()` in long loops and
// respect `deadline`.
struct CallContext {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::function<bool()> cancelled = [] { return false; };
  std::function<void(double progress, std::optional<double> total, const std::string& message)> progress =
      [](double, std::optional<double>, const std::string&) {};
};

struct Tool {
  std::string name, title, description;       // description written for a model
  nlohmann::json input_schema;                // JSON Schema object
  std::optional<nlohmann::json> output_schema;
  nlohmann::json annotations = nlohmann::json::object();  // readOnlyHint, openWorldHint, ...
  std::function<ToolResult(const nlohmann::json& arguments, const CallContext& ctx)> run;
  nlohmann::json Describe() const;            // the MCP tools/list entry
};

struct Options {                               // where the outside world is (tests point these at local servers)
  std::string geocoding_url = "https://geocoding-api.open-meteo.com/v1/search";
  std::string forecast_url  = "https://api.open-meteo.com/v1/forecast";
  std::chrono::milliseconds http_timeout{10000};
};

class Registry {                               // thread-safe for concurrent Call() after setup
 public:
  Status Add(Tool tool);                       // AlreadyExists on duplicate name
  const Tool* Find(std::string_view name) const;
  std::vector<const Tool*> List() const;       // in registration order
  // Validates `arguments` against the tool's inputSchema first; violations -> ToolResult::Error saying
  // what was wrong. Unknown tool -> NotFound status (the MCP layer maps that to -32602).
  Result<ToolResult> Call(std::string_view name, const nlohmann::json& arguments, const CallContext& ctx) const;

 private:
  // unique_ptr keeps Tool addresses stable for the pointers Find/List hand out.
  std::vector<std::unique_ptr<Tool>> tools_;
};

// The built-in tools enabled by `enabled` (config tool_server.tools), one registration line each.
// Names not in the built-in set are ignored here (the config layer reports them).
Registry BuiltinTools(const std::vector<std::string>& enabled, const Options& options = {});

// Validates a JSON value against the JSON Schema subset the tools use (type incl. integer/number/string/
// boolean/object/array/null, properties, required, additionalProperties=false, enum, minimum/maximum,
// minLength/maxLength, items, minItems/maxItems). Returns "" when valid, else e.g.
// "arguments.expression: expected a string, got 42".
std::string ValidateAgainstSchema(const nlohmann::json& schema, const nlohmann::json& value,
                                  const std::string& path = "arguments");

}  // namespace llmdesk::tools
