// mcp/server_impl.h — internal to src/mcp: the Server's private state and helpers shared by its .cpp
// files. Not part of the component's contract (that is mcp.h).
#pragma once

#include <condition_variable>
#include <string>

#include "mcp/mcp.h"

namespace llmdesk::mcp {

struct Server::Pending {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<json> reply;
  std::string session_id;
};

// How one request is being served: which protocol rules apply.
struct RequestMode {
  bool stateless = false;
  std::string version;  // negotiated (stateful) or per-request (stateless)
};

// A method handler's answer: a result object or a JSON-RPC error.
struct MethodReply {
  json result;
  std::optional<RpcError> error;
  std::shared_ptr<Session> new_session;  // initialize only
  static MethodReply Ok(json r) { return {std::move(r), std::nullopt, nullptr}; }
  static MethodReply Err(int code, std::string message, json data = nullptr) {
    return {nullptr, RpcError{code, std::move(message), std::move(data)}, nullptr};
  }
};

struct Server::Impl {
  const tools::Registry& registry;
  std::unique_ptr<Extension> extension;
  json tool_entries = json::array();        // built-in + extension tools/list entries, built once
  json tools_result_stateful;                // {"tools": [...]} shared by every unpaged tools/list
  json tools_result_stateless;               // same + resultType/ttlMs/cacheScope
  // Tools whose arguments are mirrored into Mcp-Param-* headers: tool -> (argument, header name).
  std::map<std::string, std::vector<std::pair<std::string, std::string>>, std::less<>> header_params;

  std::mutex pending_mu;
  std::map<std::string, std::shared_ptr<Pending>> pending;
  std::atomic<uint64_t> next_ask{1};

  Impl(const tools::Registry& r, std::unique_ptr<Extension> e) : registry(r), extension(std::move(e)) {}
};

// Parses one inbound message. Nesting deeper than kMaxJsonDepth is refused before parsing, so no later
// recursive walk (dump, compare, schema check) can exhaust a thread's stack. nullopt on success.
inline constexpr int kMaxJsonDepth = 64;
std::optional<RpcError> ParseWire(std::string_view text, json& out);

// Dumps JSON for the wire: invalid UTF-8 in strings (tool output echoing input bytes) is replaced, never thrown.
std::string DumpWire(const json& j);

json CapabilitiesFor(const Server::Impl& impl, bool stateless);
// Runs one method (the envelope is already checked). `server` is needed for sessions and asks.
MethodReply RunMethod(Server& server, Server::Impl& impl, const RequestMode& mode, const Incoming& in,
                      const std::string& method, const json& params);

}  // namespace llmdesk::mcp

// The conformance fixtures' interactive part (fixtures_interactive.cpp): tools and a prompt that ask the
// client (sampling, elicitation, roots) — over a live channel (stateful) or as 2026-07-28
// input_required results — and the capability/logging probes.
namespace llmdesk::mcp::fixtures {
json InteractiveTools();
bool IsInteractiveTool(std::string_view name);
Extension::Reply CallInteractiveTool(const std::string& name, const json& params, CallEnv& env,
                                     const std::string& state_key);
inline constexpr const char* kInputPrompt = "test_input_required_result_prompt";
Extension::Reply GetInputPrompt(const json& params, CallEnv& env);
std::string Base64(std::string_view bytes);
}  // namespace llmdesk::mcp::fixtures
