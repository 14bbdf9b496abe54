// mcp/jsonrpc.h — the wire format MCP servers and clients share: JSON-RPC 2.0 messages, the error codes,
// the protocol versions and the `_meta` keys of the stateless protocol. Everything that names a protocol
// version or builds/parses a message on the wire lives here, once.
//
// Protocol versions, picked per request:
//  - 2025-11-25 (and 2025-06-18, 2025-03-26 clients): stateful. `initialize` creates a session.
//  - 2026-07-28: stateless. Every request carries `_meta[kMetaProtocolVersion]` and
//    `_meta[kMetaClientCapabilities]`; `server/discover` replaces `initialize`.
//
// Errors: ParseWire refuses malformed JSON and JSON nested deeper than kMaxJsonDepth levels with -32700;
// nothing here throws. Pure functions and constants: safe from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace llmdesk::mcp {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

inline constexpr const char* kVersion2026_07_28 = "2026-07-28";
inline constexpr const char* kVersion2025_11_25 = "2025-11-25";
inline constexpr const char* kVersion2025_06_18 = "2025-06-18";
inline constexpr const char* kVersion2025_03_26 = "2025-03-26";
inline constexpr const char* kVersionStateless = kVersion2026_07_28;
inline constexpr const char* kVersionLatestStateful = kVersion2025_11_25;
// The one stateful version that still accepts JSON-RPC batches.
inline constexpr const char* kVersionWithBatches = kVersion2025_03_26;
// Newest first: 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26.
const std::vector<std::string>& SupportedVersions();
bool IsStatefulVersion(std::string_view version);

// _meta keys of the stateless protocol.
inline constexpr const char* kMetaProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* kMetaClientCapabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr const char* kMetaClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr const char* kMetaLogLevel = "io.modelcontextprotocol/logLevel";
inline constexpr const char* kMetaServerInfo = "io.modelcontextprotocol/serverInfo";

namespace rpc {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kServerError = -32000;       // implementation-defined server error (e.g. busy)
inline constexpr int kSessionRequired = -32000;  // transport-level "Bad Request" (no/unknown session)
inline constexpr int kSessionNotFound = -32001;
inline constexpr int kHeaderMismatch = -32020;
inline constexpr int kMissingClientCapability = -32021;
inline constexpr int kUnsupportedVersion = -32022;
}  // namespace rpc

struct RpcError {
  int code = rpc::kInternalError;
  std::string message;
  json data;  // null = no "data" member
};

// {"jsonrpc":"2.0","id":id,"method":method,"params":params}
json MakeRequest(const json& id, std::string_view method, json params = json::object());
// {"jsonrpc":"2.0","method":method,"params":params} — no id, no reply expected.
json MakeNotification(std::string_view method, json params = json::object());
// {"jsonrpc":"2.0","id":id,"result":result}
json ResultReply(json id, json result);
// {"jsonrpc":"2.0","id":id,"error":{...}}
json ErrorReply(const json& id, const RpcError& error);

// Parses one inbound message. Nesting deeper than kMaxJsonDepth is refused before parsing, so no later
// recursive walk (dump, compare, schema check) can exhaust a thread's stack. nullopt on success.
inline constexpr int kMaxJsonDepth = 64;
std::optional<RpcError> ParseWire(std::string_view text, json& out);

// Dumps JSON for the wire: invalid UTF-8 in strings (tool output echoing input bytes) is replaced, never thrown.
std::string DumpWire(const json& j);

// Log levels of notifications/message, least severe first ("debug" = 0 ... "emergency" = 7); -1 = unknown.
int LogLevelIndex(std::string_view level);

}  // namespace llmdesk::mcp
