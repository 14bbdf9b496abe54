// Health probes on a helper thread: a slow or stuck server costs the helper a read timeout, never the
// supervisor loop. Connection refused on loopback is immediate, so early polls are cheap.
#include "manager/prober.h"

#include <httplib.h>

#include "net/http_policy.h"

namespace llmdesk::manager {

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
    ProbeResult result;
    result.generation = req.generation;
    result.detail = "no answer";
    const auto started = std::chrono::steady_clock::now();
    try {
      httplib::Client client(origin);
      net::ConfigureClient(client);
      client.set_connection_timeout(req.connect_timeout);
      client.set_read_timeout(req.read_timeout);
      client.set_write_timeout(req.read_timeout);
      for (const auto& path : req.paths) {
        auto res = client.Get(prefix + path);
        if (!res) {
          result.http_status = -1;
          result.detail = httplib::to_string(res.error());
          // Connected (a hung process's socket still accepts) but no answer in time.
          result.timed_out = res.error() == httplib::Error::Read &&
                             std::chrono::steady_clock::now() - started >= req.read_timeout * 9 / 10;
          break;
        }
        result.http_status = res->status;
        result.detail = res->body.substr(0, 200);
        if (result.http_status != 404) break;
      }
    } catch (const std::exception& e) {
      result.detail = e.what();
    }
    on_result_(std::move(result));
  }
}

}  // namespace llmdesk::manager
