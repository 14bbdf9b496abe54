// net::Request / net::Response helpers and the route table (no Beast here: it compiles slowly).
#include <strings.h>

#include <nlohmann/json.hpp>

#include "common/text.h"
#include "net/router.h"

namespace llmdesk::net {
namespace {

const std::string kEmpty;

const std::pair<std::string, std::string>* FindIn(const HeaderList& list, std::string_view name, bool fold_case) {
  for (const auto& entry : list) {
    if (entry.first.size() != name.size()) continue;
    if (fold_case ? strncasecmp(entry.first.data(), name.data(), name.size()) == 0 : entry.first == name) return &entry;
  }
  return nullptr;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 1;  // paths begin with '/'
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

}  // namespace

const std::string& Request::Header(std::string_view name) const {
  auto* e = FindIn(headers, name, true);
  return e ? e->second : kEmpty;
}
bool Request::HasHeader(std::string_view name) const { return FindIn(headers, name, true) != nullptr; }
const std::string& Request::Query(std::string_view name) const {
  auto* e = FindIn(query, name, false);
  return e ? e->second : kEmpty;
}
bool Request::HasQuery(std::string_view name) const { return FindIn(query, name, false) != nullptr; }
const std::string& Request::Param(std::string_view name) const {
  auto it = params.find(std::string(name));
  return it == params.end() ? kEmpty : it->second;
}

Response Response::Json(int status, const nlohmann::json& body) {
  return Text(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

Response Response::Text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

Response Response::Error(int status, const std::string& message, const std::string& code) {
  return Json(status, {{"error", {{"message", message}, {"code", code}}}});
}

Response Response::Defer(std::function<Response()> work) {
  Response r;
  r.defer_ = std::move(work);
  return r;
}

Response Response::Stream(std::string content_type, std::function<void(std::shared_ptr<net::Stream>)> start) {
  Response r;
  r.content_type = std::move(content_type);
  r.stream_ = std::move(start);
  return r;
}

Response& Response::SetHeader(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

void Router::Add(std::string method, const std::string& pattern, Handler handler, RouteOptions options) {
  Route route{std::move(method), {}, std::move(handler), options};
  for (auto part : SplitPath(pattern)) route.segments.emplace_back(part);
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(Request& req) const {
  std::string_view raw = req.target;
  raw = raw.substr(0, raw.find('?'));
  auto parts = SplitPath(raw);
  Match match;
  for (const auto& route : routes_) {
    if (route.segments.size() != parts.size()) continue;
    bool same = true;
    for (size_t i = 0; i < parts.size() && same; ++i) {
      const std::string& seg = route.segments[i];
      bool capture = seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
      same = capture ? !parts[i].empty() : seg == parts[i];
    }
    if (!same) continue;
    if (route.method != req.method) {
      match.allow += (match.allow.empty() ? "" : ", ") + route.method;
      continue;
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string& seg = route.segments[i];
      if (seg.size() > 2 && seg.front() == '{') req.params[seg.substr(1, seg.size() - 2)] = PercentDecode(parts[i]);
    }
    match.route = &route;
    match.allow.clear();
    return match;
  }
  return match;
}

void ParseTarget(std::string_view target, std::string& path, HeaderList& query) {
  size_t q = target.find('?');
  path = PercentDecode(target.substr(0, q));
  if (q == std::string_view::npos) return;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      query.emplace_back(PercentDecode(pair.substr(0, eq), true),
                         eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
}

}  // namespace llmdesk::net
