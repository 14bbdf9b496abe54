// net/http_policy.h — the trust policy of every HTTP endpoint llmdesk runs (applied by net::HttpServer
// to every request before routing).
//
//  - Loopback-only trust: Host and Origin checks against DNS rebinding. The Host check applies only
//    when no token is set: a token-protected server bound to a LAN address is reached by other names
//    on purpose.
//  - The bearer token is compared in constant time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace llmdesk::net {

struct Request;

// "127.0.0.1", "::1", "localhost" (and the rest of 127.0.0.0/8).
bool IsLoopbackAddress(std::string_view host);
// A Host header naming a loopback name, with an optional port: "localhost:8763", "[::1]:8763".
bool IsLoopbackHostHeader(std::string_view host_header);
// An Origin that is absent (non-browser clients) or a loopback http(s) origin.
bool IsAllowedOrigin(std::string_view origin);
bool ConstantTimeEquals(std::string_view a, std::string_view b);

struct Policy {
  std::string token;                         // empty = no bearer token
  std::vector<std::string> allowed_origins;  // accepted besides absent and loopback origins
};

// Ok when `req` may be served. `route_origins` (a route's RouteOptions::allowed_origins) are accepted too. PermissionDenied (answer 403) for a foreign Host or Origin;
// Unauthenticated requests (missing or wrong token, unless `public_route`) give FailedPrecondition
// (answer 401). The message says what was wrong and what to send.
Status CheckPolicy(const Request& req, const Policy& policy, bool public_route = false,
                   const std::vector<std::string>* route_origins = nullptr);

}  // namespace llmdesk::net
