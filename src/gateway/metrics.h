// gateway/metrics.h — private to src/gateway: the figures behind GET /metrics (Prometheus text format 0.0.4).
// Thread-safe; each call takes one mutex for a few map updates.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "gateway/scheduler.h"

namespace llmdesk::gateway {

class Metrics {
 public:
  // One finished request: its model ("" when it named none we know), route ("chat/completions", ...), HTTP
  // status (200 for a stream that ended with an error event: what the client saw first) and duration.
  void Request(const std::string& model, const std::string& route, int status, double seconds);
  void Tokens(const std::string& model, int64_t prompt, int64_t completion);
  // The text for /metrics, with the scheduler's per-model queue depth, in-flight count, loads and unloads.
  std::string Render(const std::map<std::string, ModelLoad>& loads) const;

 private:
  static constexpr std::array<double, 13> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  struct Latency {
    std::array<uint64_t, kBuckets.size()> buckets{};  // cumulative counts are computed when rendering
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;  // model, route, status
  std::map<std::string, Latency> latency_;                                  // by model
  std::map<std::string, std::pair<int64_t, int64_t>> tokens_;               // prompt, completion
};

}  // namespace llmdesk::gateway
