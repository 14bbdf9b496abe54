// Health probes on a helper thread: a slow or stuck server costs the helper a read timeout, never the
// supervisor loop. Connection refused on loopback is immediate, so early polls are cheap.
#include <httplib.h>

#include "manager/internal.h"
#include "net/http_policy.h"

namespace llmdesk::manager::internal {

Prober::Prober(OnResult on_result) : on_result_(std::move(on_result)), thread_([this] { Run(); }) {}

Prober::~Prober() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Prober::Probe(uint64_t generation, std::string base_url, std::vector<std::string> paths,
                   std::chrono::milliseconds connect_timeout, std::chrono::milliseconds read_timeout) {
  {
    std::lock_guard lock(mu_);
    request_ = Request{generation, std::move(base_url), std::move(paths), connect_timeout, read_timeout};
  }
  cv_.notify_all();
}

void Prober::Run() {
  for (;;) {
    Request req;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return quit_ || request_.has_value(); });
      if (quit_) return;
      req = std::move(*request_);
      request_.reset();
    }
    // base_url may carry a path prefix (a remote ".../v1"): split scheme://host:port from it.
    std::string origin = req.base_url, prefix;
    if (auto scheme = origin.find("://"); scheme != std::string::npos) {
      if (auto slash = origin.find('/', scheme + 3); slash != std::string::npos) {
        prefix = origin.substr(slash);
        origin.resize(slash);
      }
    }
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    int status = -1;
    std::string detail = "no answer";
    try {
      httplib::Client client(origin);
      net::ConfigureClient(client);
      client.set_connection_timeout(req.connect_timeout);
      client.set_read_timeout(req.read_timeout);
      client.set_write_timeout(req.read_timeout);
      for (const auto& path : req.paths) {
        auto res = client.Get(prefix + path);
        if (!res) {
          detail = httplib::to_string(res.error());
          break;
        }
        status = res->status;
        detail = res->body.substr(0, 200);
        if (status != 404) break;
      }
    } catch (const std::exception& e) {
      detail = e.what();
    }
    on_result_(req.generation, status, std::move(detail));
  }
}

}  // namespace llmdesk::manager::internal
