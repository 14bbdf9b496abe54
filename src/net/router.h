// net/router.h — route table of net::HttpServer (internal to net): method + path pattern -> handler.
// Patterns are "/exact/path" or segments with captures, "/api/backends/{name}/logs"; a capture matches
// one non-empty segment and is percent-decoded into Request::params.
#pragma once

#include <string>
#include <vector>

#include "net/http_server.h"

namespace llmdesk::net {

struct Route {
  std::string method;
  std::vector<std::string> segments;  // "{name}" = capture
  Handler handler;
  RouteOptions options;
};

class Router {
 public:
  void Add(std::string method, const std::string& pattern, Handler handler, RouteOptions options);

  struct Match {
    const Route* route = nullptr;  // null: no route for this method and path
    std::string allow;             // when the path exists for other methods: "GET, POST" (405)
  };
  // Matches req.method and the raw path of req.target; fills req.params from the captures.
  Match Find(Request& req) const;

 private:
  std::vector<Route> routes_;
};

// Splits a request target into its decoded path and query parameters.
void ParseTarget(std::string_view target, std::string& path, HeaderList& query);

}  // namespace llmdesk::net
