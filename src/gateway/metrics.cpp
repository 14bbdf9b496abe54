// Metrics (contract in metrics.h).
#include "gateway/metrics.h"

#include <fmt/format.h>

namespace llmdesk::gateway {
namespace {

// A label value in Prometheus' text format: backslash, double quote and line feed escaped.
std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

void Metrics::Request(const std::string& model, const std::string& route, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{model, route, status}];
  Latency& l = latency_[model];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) {
      ++l.buckets[i];
      break;
    }
  ++l.count;
  l.sum += seconds;
}

void Metrics::Tokens(const std::string& model, int64_t prompt, int64_t completion) {
  std::lock_guard lock(mu_);
  auto& t = tokens_[model];
  t.first += prompt;
  t.second += completion;
}

std::string Metrics::Render(const std::map<std::string, ModelLoad>& loads) const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP llmdesk_gateway_requests_total Requests answered by the gateway.\n"
         "# TYPE llmdesk_gateway_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [model, route, status] = key;
    out += fmt::format("llmdesk_gateway_requests_total{{model=\"{}\",route=\"{}\",code=\"{}\"}} {}\n", Label(model),
                       Label(route), status, n);
  }
  out += "# HELP llmdesk_gateway_request_duration_seconds Time from request to the end of the answer (streams: the last byte).\n"
         "# TYPE llmdesk_gateway_request_duration_seconds histogram\n";
  for (const auto& [model, l] : latency_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += l.buckets[i];
      out += fmt::format("llmdesk_gateway_request_duration_seconds_bucket{{model=\"{}\",le=\"{}\"}} {}\n", Label(model),
                         kBuckets[i], cumulative);
    }
    out += fmt::format("llmdesk_gateway_request_duration_seconds_bucket{{model=\"{}\",le=\"+Inf\"}} {}\n", Label(model), l.count);
    out += fmt::format("llmdesk_gateway_request_duration_seconds_sum{{model=\"{}\"}} {}\n", Label(model), l.sum);
    out += fmt::format("llmdesk_gateway_request_duration_seconds_count{{model=\"{}\"}} {}\n", Label(model), l.count);
  }
  out += "# HELP llmdesk_gateway_tokens_total Tokens reported by the upstream (streams without usage: one per content event).\n"
         "# TYPE llmdesk_gateway_tokens_total counter\n";
  for (const auto& [model, t] : tokens_) {
    out += fmt::format("llmdesk_gateway_tokens_total{{model=\"{}\",kind=\"prompt\"}} {}\n", Label(model), t.first);
    out += fmt::format("llmdesk_gateway_tokens_total{{model=\"{}\",kind=\"completion\"}} {}\n", Label(model), t.second);
  }
  auto gauge = [&](const char* name, const char* type, const char* help, auto field) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    for (const auto& [model, l] : loads) out += fmt::format("{}{{model=\"{}\"}} {}\n", name, Label(model), field(l));
  };
  gauge("llmdesk_gateway_queue_depth", "gauge", "Requests waiting for their model (its start, or room under max_loaded).",
        [](const ModelLoad& l) { return l.waiting; });
  gauge("llmdesk_gateway_in_flight", "gauge", "Requests being answered.", [](const ModelLoad& l) { return l.active; });
  gauge("llmdesk_gateway_loads_total", "counter", "Model starts the gateway asked for.", [](const ModelLoad& l) { return l.loads; });
  gauge("llmdesk_gateway_unloads_total", "counter", "Models stopped to make room under gateway.max_loaded.",
        [](const ModelLoad& l) { return l.unloads; });
  gauge("llmdesk_gateway_rejected_total", "counter", "Requests refused with 429 (queue full).",
        [](const ModelLoad& l) { return l.rejected; });
  return out;
}

}  // namespace llmdesk::gateway
