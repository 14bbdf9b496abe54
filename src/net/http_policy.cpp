#include "net/http_policy.h"

#include <arpa/inet.h>

#include <algorithm>

#include "net/http_server.h"

namespace llmdesk::net {

bool IsLoopbackAddress(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr addr{};
  std::string text(host);
  return inet_pton(AF_INET, text.c_str(), &addr) == 1 && (ntohl(addr.s_addr) >> 24) == 127;
}

bool IsLoopbackHostHeader(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') {  // [::1] or [::1]:port
    size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    return host.substr(1, close - 1) == "::1";
  }
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
    host = host.substr(0, colon);
  }
  return IsLoopbackAddress(host);
}

bool IsAllowedOrigin(std::string_view origin) {
  if (origin.empty()) return true;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.substr(0, scheme.size()) == scheme) {
      std::string_view rest = origin.substr(scheme.size());
      if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
      return IsLoopbackHostHeader(rest);
    }
  }
  return false;  // "null", file://, chrome-extension://… are not ours
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ (i < b.size() ? b[i] : 0);
  return diff == 0;
}

Status CheckPolicy(const Request& req, const Policy& policy, bool public_route,
                   const std::vector<std::string>* route_origins) {
  if (policy.token.empty() && !IsLoopbackHostHeader(req.Header("Host"))) {
    return Status::PermissionDenied("Host header '" + req.Header("Host") +
                                    "' is not a loopback name (DNS rebinding protection)");
  }
  const std::string& origin = req.Header("Origin");
  if (!IsAllowedOrigin(origin) &&
      std::find(policy.allowed_origins.begin(), policy.allowed_origins.end(), origin) == policy.allowed_origins.end() &&
      (!route_origins || std::find(route_origins->begin(), route_origins->end(), origin) == route_origins->end())) {
    return Status::PermissionDenied("Origin '" + origin + "' is not allowed (DNS rebinding protection)");
  }
  if (!policy.token.empty() && !public_route) {
    const std::string& auth = req.Header("Authorization");
    const std::string_view prefix = "Bearer ";
    if (auth.size() <= prefix.size() || auth.compare(0, prefix.size(), prefix) != 0 ||
        !ConstantTimeEquals(std::string_view(auth).substr(prefix.size()), policy.token)) {
      return Status::FailedPrecondition("missing or wrong bearer token (send 'Authorization: Bearer <token>')");
    }
  }
  return Status::Ok();
}

}  // namespace llmdesk::net
