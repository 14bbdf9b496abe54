// net/http_policy.h — one listener/client policy for every HTTP endpoint llmdesk runs or calls.
//
//  - TCP_NODELAY on: with Nagle on, a keep-alive JSON loop costs ~40 ms per request.
//  - SO_REUSEADDR on (so TIME_WAIT never blocks a restart), SO_REUSEPORT never: with it, a second
//    process could bind the same port and silently steal half the connections. (cpp-httplib's
//    default socket options set both, so servers must go through ConfigureServer.)
//  - Loopback-only trust: Host and Origin checks against DNS rebinding, constant-time token compare.
#pragma once

#include <string>
#include <string_view>

namespace httplib {
class Server;
class Client;
struct Request;
}  // namespace httplib

namespace llmdesk::net {

void ConfigureServer(httplib::Server& server);
void ConfigureClient(httplib::Client& client);

// "127.0.0.1", "::1", "localhost" (and the rest of 127.0.0.0/8).
bool IsLoopbackAddress(std::string_view host);
// A Host header naming a loopback name, with an optional port: "localhost:8763", "[::1]:8763".
bool IsLoopbackHostHeader(std::string_view host_header);
// An Origin that is absent (non-browser clients) or a loopback http(s) origin.
bool IsAllowedOrigin(std::string_view origin);
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Checks a request against the loopback policy and an optional bearer token.
// Returns 0 when allowed, otherwise the HTTP status to answer (403 bad Host/Origin, 401 bad token)
// and sets `why` to a message for the client.
int CheckRequest(const httplib::Request& req, const std::string& token, std::string& why);

}  // namespace llmdesk::net
