// The JSON-RPC wire helpers: message builders, the depth-bounded parser, the replacing dumper.
#include "mcp/jsonrpc.h"

#include <array>

namespace llmdesk::mcp {

const std::vector<std::string>& SupportedVersions() {
  static const std::vector<std::string> kVersions = {kVersion2026_07_28, kVersion2025_11_25, kVersion2025_06_18,
                                                     kVersion2025_03_26};
  return kVersions;
}

bool IsStatefulVersion(std::string_view v) {
  return v == kVersion2025_11_25 || v == kVersion2025_06_18 || v == kVersion2025_03_26;
}

int LogLevelIndex(std::string_view level) {
  static constexpr std::array<std::string_view, 8> kLevels = {"debug", "info",     "notice", "warning",
                                                              "error", "critical", "alert",  "emergency"};
  for (size_t i = 0; i < kLevels.size(); ++i) {
    if (kLevels[i] == level) return static_cast<int>(i);
  }
  return -1;
}

json MakeRequest(const json& id, std::string_view method, json params) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

json MakeNotification(std::string_view method, json params) {
  return {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

json ResultReply(json id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"result", std::move(result)}};
}

json ErrorReply(const json& id, const RpcError& error) {
  json err = {{"code", error.code}, {"message", error.message}};
  if (!error.data.is_null()) err["data"] = error.data;
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(err)}};
}

std::string DumpWire(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::optional<RpcError> ParseWire(std::string_view text, json& out) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return RpcError{rpc::kParseError, "Parse error: JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                                              " levels is not accepted", nullptr};
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  try {
    out = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e999
    return RpcError{rpc::kParseError, std::string("Parse error: ") + e.what(), nullptr};
  }
  return std::nullopt;
}

}  // namespace llmdesk::mcp
