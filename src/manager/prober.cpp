// Health probes on a helper thread: a slow or stuck server costs the helper a read timeout, never the
// supervisor loop. Connection refused on loopback is immediate, so early polls are cheap.
#include "manager/prober.h"

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
                   std::chrono::milliseconds connect_timeout, std::chrono::milliseconds read_timeout,
                   net::HeaderList headers) {
  {
    std::lock_guard lock(mu_);
    request_ = Request{generation, std::move(base_url), std::move(paths), connect_timeout, read_timeout,
                       std::move(headers), nullptr};
  }
  cv_.notify_all();
}

void Prober::ProbeWith(uint64_t generation, std::function<ProbeResult()> check) {
  {
    std::lock_guard lock(mu_);
    request_ = Request{generation, {}, {}, {}, {}, {}, std::move(check)};
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
    if (req.check) {
      ProbeResult result = req.check();
      result.generation = req.generation;
      on_result_(std::move(result));
      continue;
    }
    std::string base = req.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    ProbeResult result;
    result.generation = req.generation;
    result.detail = "no answer";
    for (const auto& path : req.paths) {
      net::HttpRequest get;
      get.url = base + path;
      get.headers = req.headers;
      get.connect_timeout = req.connect_timeout;
      get.timeout = req.read_timeout;
      get.max_response_bytes = 64 * 1024;
      auto res = http_.Send(get);
      if (!res.ok()) {
        result.http_status = -1;
        result.detail = res.status().message();
        // Connected (a hung process's socket still accepts) but no answer in time.
        result.timed_out = res.status().code() == Status::Code::kTimeout;
        break;
      }
      result.http_status = res->status;
      result.detail = res->body.substr(0, 200);
      if (result.http_status != 404) break;
    }
    on_result_(std::move(result));
  }
}

}  // namespace llmdesk::manager
