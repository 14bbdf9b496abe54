// tests/fuzz/fuzz_mcp_dispatch.cpp — libFuzzer target: arbitrary bytes as one inbound JSON-RPC message
// to the MCP Server (mcp::Server::Handle), the entry point both transports use.
//
// Each input is handled three ways, so the fuzzer reaches every protocol path from plain JSON seeds:
//   1. stdio-like: no HTTP headers, no session;
//   2. HTTP, stateful: an initialized 2025-11-25 session, MCP-Protocol-Version: 2025-11-25;
//   3. HTTP, stateless 2026-07-28: Mcp-Method / Mcp-Name headers copied from the body when it parses,
//      so requests get past the header-match check and into the methods.
// The server has the built-in tools (get_weather pointed at a closed local port: no network) and the
// conformance fixtures. The peer cannot take server->client questions, so sampling/elicitation fixtures
// fail at once instead of waiting for a client. Invariants beyond "no crash / sanitizer report / hang":
// a reply, when there is one, is valid JSON-RPC 2.0 (an object with jsonrpc "2.0" and exactly one of
// result/error, or an array of such objects for a batch).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mcp/fixtures/fixtures.h"
#include "mcp/server.h"
#include "tools/tools.h"

namespace {

using llmdesk::mcp::json;

class DiscardingPeer : public llmdesk::mcp::Peer {
 public:
  void Send(const json&) override {}
  bool CanAsk() const override { return false; }
};

struct Fixture {
  llmdesk::tools::Registry registry;
  llmdesk::mcp::Server server;
  std::shared_ptr<llmdesk::mcp::Session> session;
  DiscardingPeer peer;

  static llmdesk::tools::Options NoNetwork() {
    llmdesk::tools::Options o;
    o.geocoding_url = "http://127.0.0.1:9/v1/search";  // discard port: connection refused at once
    o.forecast_url = "http://127.0.0.1:9/v1/forecast";
    o.http_timeout = std::chrono::milliseconds(200);
    return o;
  }
  static llmdesk::mcp::ServerOptions Options() {
    llmdesk::mcp::ServerOptions o;
    o.max_sessions = 64;  // eviction paths get exercised; memory stays flat
    o.call_timeout = std::chrono::milliseconds(500);
    return o;
  }

  Fixture()
      : registry(llmdesk::tools::BuiltinTools({"calculator", "get_weather", "get_time", "convert_units"},
                                              NoNetwork())),
        server(registry, llmdesk::mcp::MakeConformanceFixtures(), Options()) {
    session = *server.sessions().Create(llmdesk::mcp::kVersionLatestStateful);  // an empty table has room
    session->initialized = true;
  }
};

Fixture& Shared() {
  static Fixture* fixture = new Fixture();  // never destroyed: libFuzzer exits without unwinding
  return *fixture;
}

[[noreturn]] void Violation(const char* what, const std::string& detail) {
  fprintf(stderr, "fuzz_mcp_dispatch: invariant violated: %s: %.2000s\n", what, detail.c_str());
  abort();
}

void CheckReplyObject(const json& r, const std::string& text) {
  if (!r.is_object()) Violation("reply is not an object", text);
  auto v = r.find("jsonrpc");
  if (v == r.end() || *v != "2.0") Violation("reply lacks jsonrpc 2.0", text);
  if (r.contains("result") == r.contains("error")) Violation("reply needs exactly one of result/error", text);
  if (!r.contains("id")) Violation("reply lacks id", text);
  if (r.contains("error")) {
    const json& e = r["error"];
    if (!e.is_object() || !e.contains("code") || !e["code"].is_number_integer() || !e.contains("message") ||
        !e["message"].is_string())
      Violation("malformed error object", text);
  }
}

void CheckReply(const std::optional<std::string>& reply) {
  if (!reply) return;
  json parsed = json::parse(*reply, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) Violation("reply is not valid JSON", *reply);
  if (parsed.is_array()) {
    if (parsed.empty()) Violation("empty batch reply (should be no reply at all)", *reply);
    for (const auto& r : parsed) CheckReplyObject(r, *reply);
  } else {
    CheckReplyObject(parsed, *reply);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& f = Shared();
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  {  // 1. stdio-like
    llmdesk::mcp::Incoming in;
    in.peer = &f.peer;
    CheckReply(f.server.Handle(text, in));
  }
  {  // 2. HTTP, stateful session
    llmdesk::mcp::Incoming in;
    in.http = true;
    in.session = f.session;
    in.header_version = llmdesk::mcp::kVersionLatestStateful;
    in.peer = &f.peer;
    CheckReply(f.server.Handle(text, in));
  }
  {  // 3. HTTP, stateless: headers that match the body
    llmdesk::mcp::Incoming in;
    in.http = true;
    in.header_version = llmdesk::mcp::kVersionStateless;
    in.peer = &f.peer;
    json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (body.is_object()) {
      if (auto m = body.find("method"); m != body.end() && m->is_string()) in.header_method = m->get<std::string>();
      if (auto p = body.find("params"); p != body.end() && p->is_object()) {
        for (const char* key : {"name", "uri"}) {
          if (auto n = p->find(key); n != p->end() && n->is_string()) in.header_name = n->get<std::string>();
        }
      }
    }
    CheckReply(f.server.Handle(text, in));
  }
  return 0;
}
