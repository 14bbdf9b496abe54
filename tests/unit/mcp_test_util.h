// tests/unit/mcp_test_util.h — small helpers for tests that drive mcp::Server without a transport.
#pragma once

#include <memory>

#include "mcp/server.h"

namespace llmdesk::mcp::test {

// One stateful HTTP message as the transport hands it to the server.
inline Outcome PostHttp(Server& server, json message, std::shared_ptr<Session> session = nullptr) {
  Incoming in;
  in.http = true;
  in.message = std::move(message);
  in.session = std::move(session);
  return server.Dispatch(in);
}

inline json InitializeMessage(int id) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", "initialize"},
          {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}}}};
}

}  // namespace llmdesk::mcp::test
