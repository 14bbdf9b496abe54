// tools/tools.h — the built-in tools the MCP tool server (and the chat) offer, and their registry.
//
// A Tool is plain data plus a `run` function; the Registry owns the tools and is the single entry point
// for calling one: it validates the arguments against the tool's inputSchema first, so a tool's `run`
// only sees well-formed arguments. Tool failures (bad expression, unknown place, network down) come back
// as ToolResult with is_error = true — they are answers for the model, not protocol errors. Only an
// unknown tool name is a Status (NotFound), which the MCP layer maps to JSON-RPC -32602.
//
// Providers: besides its own tools (Add), the Registry holds the tools of providers — an external MCP
// server, named by its config key — whose `run` forwards the call there. A provider's set is replaced as a
// whole (SetProviderTools: first listing, a refresh after list_changed) or dropped (RemoveProvider: the
// server went away). A provider tool whose name is already taken is registered as "<provider>__<name>";
// its `run` still forwards the provider's own name.
//
// Threads: every method may be called from any number of threads at once. The tool set is an immutable
// snapshot replaced on change (copy on write), so a Call that is running keeps its tool alive while a
// provider refreshes or goes away; the snapshot is what Find/List hand out (shared_ptr). Tools keep no
// shared mutable state (e.g. the calculator builds a parser per call). Exceptions never leave Call(): a
// tool that throws becomes an error result.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "tools/names.h"  // the built-in tools' names (kCalculatorTool, ..., BuiltinToolNames)

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
  std::string provider;                       // empty: our own tool; else the provider it forwards to
  nlohmann::json Describe() const;            // the MCP tools/list entry
};

struct Options {                               // where the outside world is (tests point these at local servers)
  std::string geocoding_url = "https://geocoding-api.open-meteo.com/v1/search";
  std::string forecast_url  = "https://api.open-meteo.com/v1/forecast";
  std::chrono::milliseconds http_timeout{10000};
};


class Registry {
 public:
  Registry();
  Registry(Registry&& other) noexcept;
  Registry& operator=(Registry&& other) noexcept;
  ~Registry();

  // One of our own tools. InvalidArgument without a name or run; AlreadyExists on a duplicate name.
  Status Add(Tool tool);
  // Replaces all tools of `provider` with `tools` (each tool's `provider` is set to it). A name another
  // tool holds becomes "<provider>__<name>"; if even that is taken, or a tool has no name or run, nothing
  // changes and the Status says which tool. Calls running on the old set finish undisturbed.
  Status SetProviderTools(const std::string& provider, std::vector<Tool> tools);
  // Drops every tool of `provider`; false when it had none.
  bool RemoveProvider(std::string_view provider);

  std::shared_ptr<const Tool> Find(std::string_view name) const;
  std::vector<std::shared_ptr<const Tool>> List() const;  // in registration order (a refreshed set moves last)
  // Changes whenever the set of tools changes (for caches of List(), e.g. the MCP server's tools/list).
  uint64_t generation() const { return generation_.load(); }

  // Validates `arguments` against the tool's inputSchema first; violations -> ToolResult::Error saying
  // what was wrong. Unknown tool -> NotFound status (the MCP layer maps that to -32602).
  Result<ToolResult> Call(std::string_view name, const nlohmann::json& arguments, const CallContext& ctx) const;

 private:
  struct Snapshot;
  std::shared_ptr<const Snapshot> Current() const;
  void Publish(std::shared_ptr<const Snapshot> next);  // caller holds write_mu_

  mutable std::mutex mu_;          // guards snapshot_ (held only to copy or swap the pointer)
  std::mutex write_mu_;            // serializes writers, who build the next snapshot outside mu_
  std::shared_ptr<const Snapshot> snapshot_;
  std::atomic<uint64_t> generation_{0};
};

// The built-in tools enabled by `enabled` (config tool_server.tools), one registration line each.
// Names not in the built-in set are ignored here (the config layer reports them).
Registry BuiltinTools(const std::vector<std::string>& enabled, const Options& options = {});

// Validates a JSON value against the JSON Schema subset the tools use (type incl. integer/number/string/
// boolean/object/array/null, properties, required, additionalProperties=false, enum, minimum/maximum,
// minLength/maxLength, items, minItems/maxItems). Ok when valid, else InvalidArgument whose message says
// where and what, e.g. "arguments.expression: expected a string, got 42".
Status ValidateAgainstSchema(const nlohmann::json& schema, const nlohmann::json& value,
                             const std::string& path = "arguments");

}  // namespace llmdesk::tools
