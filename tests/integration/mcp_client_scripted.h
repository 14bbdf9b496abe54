// tests/integration/mcp_client_scripted.h — scripted MCP servers on 127.0.0.1 for mcp::Client behaviours
// our own tool server never shows:
//  - ScriptedMcp: Streamable HTTP on net::HttpServer. initialize gets a session, notifications and the
//    client's replies 202 (replies are kept for the test); a tools/call and a GET each hand their open
//    event stream to the test's script, which writes what it likes and closes it.
//  - RawHttpScript: a bare socket that answers one request per connection with the bytes a script returns,
//    for what a well-behaved HTTP server cannot send (a chunked stream cut off in the middle).
#pragma once

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/unique_fd.h"
#include "net/http_server.h"

namespace llmdesk::test {

class ScriptedMcp {
 public:
  using Clock = std::chrono::steady_clock;
  using json = nlohmann::json;
  // Writes to a tools/call's (request) or a GET's (nullptr) event stream; must Close() it when done.
  using Script = std::function<void(const json* call, net::Stream& stream)>;
  struct Get {
    std::string last_event_id, session;
    Clock::time_point at;
  };

  ScriptedMcp(Script on_call, Script on_get) : on_call_(std::move(on_call)), on_get_(std::move(on_get)) {
    server_.Route("POST", "/mcp", [this](net::Request& r) { return Post(r); });
    server_.Route("GET", "/mcp", [this](net::Request& r) {
      {
        std::lock_guard lock(mu_);
        gets_.push_back({r.Header("Last-Event-ID"), r.Header("Mcp-Session-Id"), Clock::now()});
      }
      return Stream(nullptr, on_get_);
    });
    if (!server_.Bind().ok() || !server_.Start().ok()) throw std::runtime_error("scripted MCP server did not start");
  }

  std::string url() const { return server_.url() + "/mcp"; }
  json initialize_params() {
    std::lock_guard lock(mu_);
    return initialize_params_;
  }
  std::vector<Get> gets() {
    std::lock_guard lock(mu_);
    return gets_;
  }
  // Waits (bounded) for the client's reply to the server's request `id`; null when none came.
  json WaitForClientReply(const json& id, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    json found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& m : client_messages_)
        if (m.value("id", json()) == id) return (found = m), true;
      return false;
    });
    return found;
  }

 private:
  net::Response Post(net::Request& r) {
    json message = json::parse(r.body, nullptr, false);
    if (!message.is_object()) return net::Response::Text(400, "not JSON");
    const std::string method = message.contains("method") ? message.value("method", "") : "";
    if (method == "initialize") {
      {
        std::lock_guard lock(mu_);
        initialize_params_ = message.value("params", json());
      }
      json result = {{"protocolVersion", "2025-11-25"},
                     {"capabilities", {{"tools", json::object()}}},
                     {"serverInfo", {{"name", "scripted"}, {"version", "1"}}}};
      return net::Response::Json(200, {{"jsonrpc", "2.0"}, {"id", message["id"]}, {"result", result}})
          .SetHeader("Mcp-Session-Id", "scripted-session");
    }
    if (method == "tools/call") return Stream(std::make_shared<json>(message), on_call_);
    {
      std::lock_guard lock(mu_);
      client_messages_.push_back(message);  // notifications and the client's replies to our requests
      cv_.notify_all();
    }
    return net::Response::Text(202, "");
  }

  net::Response Stream(std::shared_ptr<json> call, const Script& script) {
    auto r = net::Response::Stream("text/event-stream", [call, &script](std::shared_ptr<net::Stream> stream) {
      script(call.get(), *stream);
    });
    r.SetHeader("Mcp-Session-Id", "scripted-session");
    return r;
  }

  Script on_call_, on_get_;
  std::mutex mu_;
  std::condition_variable cv_;
  json initialize_params_;
  std::vector<json> client_messages_;
  std::vector<Get> gets_;
  net::HttpServer server_{net::ServerOptions{}};
};

class RawHttpScript {
 public:
  // (method, body) of one request → the raw bytes of the whole response; the connection closes after them.
  using Reply = std::function<std::string(const std::string& method, const std::string& body)>;

  explicit RawHttpScript(Reply reply)
      : reply_(std::move(reply)), listen_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)),
        wake_(::eventfd(0, EFD_CLOEXEC)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_.get(), 8) != 0 ||
        ::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("raw HTTP script: cannot listen on 127.0.0.1");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~RawHttpScript() {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }

 private:
  void Run() {
    for (;;) {
      pollfd fds[2] = {{listen_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 || fds[1].revents) return;
      UniqueFd conn(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (conn.get() < 0) continue;
      std::string in, method, body;
      if (!ReadRequest(conn.get(), in, method, body)) continue;
      const std::string out = reply_(method, body);
      (void)!::send(conn.get(), out.data(), out.size(), MSG_NOSIGNAL);
    }
  }
  // One request: headers up to the blank line, then Content-Length bytes of body (bounded in time and size).
  static bool ReadRequest(int fd, std::string& in, std::string& method, std::string& body) {
    size_t head_end = std::string::npos, need = 0;
    for (;;) {
      if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
        method = in.substr(0, in.find(' '));
        auto at = in.find("Content-Length: ");
        if (at == std::string::npos) at = in.find("content-length: ");
        need = at != std::string::npos && at < head_end ? std::stoul(in.substr(at + 16)) : 0;
      }
      if (head_end != std::string::npos && in.size() >= head_end + 4 + need) {
        body = in.substr(head_end + 4, need);
        return true;
      }
      pollfd p{fd, POLLIN, 0};
      char buf[4096];
      ssize_t n = ::poll(&p, 1, 5000) == 1 ? ::recv(fd, buf, sizeof buf, 0) : -1;
      if (n <= 0 || in.size() > (1 << 20)) return false;
      in.append(buf, static_cast<size_t>(n));
    }
  }

  Reply reply_;
  UniqueFd listen_, wake_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace llmdesk::test
