// manager/prober.h — HTTP health probes on a helper thread (private to src/manager).
// One Prober per backend, created when the backend first starts, so a slow server never stalls the
// supervisor loop or other backends. Probe() replaces a request not yet taken; the result goes to
// `on_result` on the helper thread (the owner posts it to its own thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"

namespace llmdesk::manager {

struct ProbeResult {
  uint64_t generation = 0;
  int http_status = -1;    // the first non-404 status of `paths` tried in order; -1 = no answer
  bool timed_out = false;  // connected but no answer within read_timeout (a hung server)
  std::string detail;      // the start of the body, or why there was no answer
};

class Prober {
 public:
  using OnResult = std::function<void(ProbeResult)>;
  explicit Prober(OnResult on_result);
  ~Prober();  // joins the helper (after at most one probe's timeouts)
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;
  // base_url: "http://127.0.0.1:10500" or a remote "http://gpu-box:8000/v1".
  // headers: e.g. a remote server's {"Authorization", "Bearer KEY"}.
  void Probe(uint64_t generation, std::string base_url, std::vector<std::string> paths,
             std::chrono::milliseconds connect_timeout, std::chrono::milliseconds read_timeout,
             net::HeaderList headers = {});
  // A probe that is not HTTP (an RPC worker's HELLO): `check` runs on the helper thread and must be
  // bounded in time; its result's generation is set here.
  void ProbeWith(uint64_t generation, std::function<ProbeResult()> check);

 private:
  struct Request {
    uint64_t generation;
    std::string base_url;
    std::vector<std::string> paths;
    std::chrono::milliseconds connect_timeout, read_timeout;
    net::HeaderList headers;
    std::function<ProbeResult()> check;  // set: run this instead of the HTTP probe
  };
  void Run();
  OnResult on_result_;
  net::HttpClient http_;  // keeps the connection to the engine between probes
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Request> request_;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace llmdesk::manager
