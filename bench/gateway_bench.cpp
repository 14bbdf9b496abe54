// llmdesk-gateway-bench — what the OpenAI-compatible gateway (src/gateway) adds on top of its upstream.
//
// (a) streamed completions: the same request (max_tokens, ignore_eos, greedy) sent alternately straight to
//     llama-server (a generated model, llmdesk-testmodel) and through the gateway of an in-process stack on
//     the same engine, --requests times each. Per pair: time to the first content byte and the whole stream.
//     Added latency = gateway − direct of each pair (p50/p99); tokens/s ratio = gateway / direct (content
//     events over total stream time). Goals: p50 added ≤ 1 ms, ratio ≥ 0.97.
// (b) non-streamed requests/s against a trivial upstream (a fixed chat.completion from a net::HttpServer, as
//     a `url:` model): --clients threads on keep-alive connections for --seconds, through the gateway and
//     straight to the upstream, same run.
// Not a test: prints figures. Usage: llmdesk-gateway-bench [--requests N] [--tokens N] [--clients N]
//   [--seconds S] [--model GGUF]
#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "config/config.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "stack/stack.h"

namespace llmdesk::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

struct Args {
  int requests = 200, tokens = 64, clients = 4, seconds = 5;
  std::string model;
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct StreamSample {
  double first_ms = 0, total_ms = 0;
  int events = 0;
};

StreamSample Streamed(net::HttpClient& http, const std::string& url, const std::string& body) {
  StreamSample s;
  const auto t0 = Clock::now();
  bool first = false;
  net::HttpRequest q{.method = "POST", .url = url, .headers = {{"Content-Type", "application/json"}}, .body = body};
  q.timeout = 120s;
  Status st = http.Stream(q, [](int status, const net::HeaderList&) { return status == 200; },
                          [&](std::string_view chunk) {
                            if (!first && chunk.find("\"content\"") != std::string_view::npos) {
                              first = true;
                              s.first_ms = Ms(Clock::now() - t0);
                            }
                            for (size_t p = 0; (p = chunk.find("\"content\"", p)) != std::string_view::npos; ++p) ++s.events;
                            return true;
                          });
  if (!st.ok()) Die("stream to " + url + ": " + st.ToString());
  s.total_ms = Ms(Clock::now() - t0);
  return s;
}

// Requests/s of `clients` threads sending `body` to `url` for `seconds`.
double Throughput(const std::string& url, const std::string& body, int clients, int seconds, Samples* latencies) {
  std::atomic<bool> stop{false};
  std::atomic<long> done{0}, failed{0};
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      net::HttpClient http;  // one keep-alive connection per client
      Samples mine;
      while (!stop) {
        const auto t0 = Clock::now();
        auto r = http.Send({.method = "POST", .url = url, .headers = {{"Content-Type", "application/json"}}, .body = body});
        if (!r.ok() || r->status != 200) ++failed;
        else ++done, mine.push_back(Ms(Clock::now() - t0));
      }
      std::lock_guard lock(mu);
      latencies->insert(latencies->end(), mine.begin(), mine.end());
    });
  std::this_thread::sleep_for(std::chrono::seconds(seconds));  // the measuring window, not synchronisation
  stop = true;
  for (auto& t : threads) t.join();
  if (failed) std::fprintf(stderr, "  (%ld requests failed)\n", failed.load());
  return static_cast<double>(done) / seconds;
}

std::unique_ptr<stack::Stack> StartStack(const std::string& models, const test::TempDir& dir) {
  std::string yaml = "engine:\n  llama_server: " + test::LlamaServerPath().string() + "\n" +
                     "ports:\n  range: 10700-10799\nmodels:\n" + models;
  auto loaded = config::LoadString(yaml, "bench.yaml", config::ProcessEnv());
  if (!loaded.ok()) Die("config: " + loaded.errors()[0].ToString());
  loaded.config.gateway.port = 0;
  loaded.config.tool_server.port = 0;
  stack::Options o{.config = loaded.config, .control_api = true, .history = false};
  o.manager.state_dir = dir.path() / "run";
  o.manager.log_dir = dir.path() / "logs";
  auto started = stack::Stack::Start(std::move(o));
  if (!started.ok()) Die("stack: " + started.status().ToString());
  return std::move(started).value();
}

void StreamBench(const Args& a) {
  test::TempDir dir;
  std::string model = a.model;
  if (model.empty()) {
    model = (dir.path() / "bench.gguf").string();
    auto r = test::RunCommand({test::BinPath("llmdesk-testmodel").string(), "--out", model, "--seed", "11"}, 120s);
    if (r.exit_code != 0) Die("llmdesk-testmodel: " + r.err);
  }
  auto stack = StartStack("  m:\n    model: " + model + "\n    args: [--ctx-size, \"2048\"]\n", dir);
  auto lease = stack->manager().Acquire("m", 120s);
  if (!lease.ok()) Die("engine: " + lease.status().ToString());
  const std::string direct = lease->url() + "/v1/chat/completions";
  const std::string gateway = stack->control_url() + "/v1/chat/completions";
  const std::string body = Json{{"model", "m"}, {"stream", true}, {"max_tokens", a.tokens}, {"ignore_eos", true},
                                {"temperature", 0}, {"messages", {{{"role", "user"}, {"content", "Count to ten."}}}}}.dump();
  net::HttpClient http;
  for (int i = 0; i < 5; ++i) Streamed(http, direct, body), Streamed(http, gateway, body);  // warm-up
  Samples first_added, total_added, d_first, g_first;
  double d_ms = 0, g_ms = 0;
  long d_events = 0, g_events = 0;
  for (int i = 0; i < a.requests; ++i) {
    // Alternate the order so neither side always runs on a warmer engine.
    StreamSample d, g;
    if (i % 2) d = Streamed(http, direct, body), g = Streamed(http, gateway, body);
    else g = Streamed(http, gateway, body), d = Streamed(http, direct, body);
    first_added.push_back(g.first_ms - d.first_ms);
    total_added.push_back(g.total_ms - d.total_ms);
    d_first.push_back(d.first_ms), g_first.push_back(g.first_ms);
    d_ms += d.total_ms, g_ms += g.total_ms, d_events += d.events, g_events += g.events;
  }
  const double d_rate = d_events / (d_ms / 1000), g_rate = g_events / (g_ms / 1000);
  std::printf("(a) streamed chat completions, %d tokens each, %d pairs (llama-server + generated model)\n", a.tokens, a.requests);
  PrintRow("first content byte, direct (ms)", d_first);
  PrintRow("first content byte, via gateway (ms)", g_first);
  std::printf("  added latency to first content byte: p50 %.3f ms  p99 %.3f ms   (goal p50 <= 1 ms)\n",
              Percentile(first_added, 50), Percentile(first_added, 99));
  std::printf("  added latency to end of stream:      p50 %.3f ms  p99 %.3f ms\n", Percentile(total_added, 50),
              Percentile(total_added, 99));
  std::printf("  tokens/s direct %.1f, via gateway %.1f: ratio %.3f   (goal >= 0.97)\n", d_rate, g_rate, g_rate / d_rate);
}

void ThroughputBench(const Args& a) {
  test::TempDir dir;
  const std::string answer =
      Json{{"id", "x"}, {"object", "chat.completion"}, {"created", 0}, {"model", "trivial"},
           {"choices", Json::array({{{"index", 0}, {"message", {{"role", "assistant"}, {"content", "ok"}}}, {"finish_reason", "stop"}}})},
           {"usage", {{"prompt_tokens", 1}, {"completion_tokens", 1}, {"total_tokens", 2}}}}.dump();
  net::HttpServer upstream({.port = 0, .io_threads = 1});
  upstream.Route("POST", "/v1/chat/completions", [&](net::Request&) { return net::Response::Text(200, answer, "application/json"); },
                 {.inline_handler = true});
  if (!upstream.Bind().ok() || !upstream.Start().ok()) Die("trivial upstream");
  auto stack = StartStack("  trivial:\n    url: " + upstream.url() + "/v1\n", dir);
  const std::string body = R"({"model":"trivial","messages":[{"role":"user","content":"hi"}]})";
  Samples direct_lat, gw_lat;
  const double direct = Throughput(upstream.url() + "/v1/chat/completions", body, a.clients, a.seconds, &direct_lat);
  const double gw = Throughput(stack->control_url() + "/v1/chat/completions", body, a.clients, a.seconds, &gw_lat);
  std::printf("(b) non-streamed chat completions, trivial upstream, %d keep-alive clients, %d s each\n", a.clients, a.seconds);
  std::printf("  direct to upstream:  %8.0f req/s  p50 %.3f ms  p99 %.3f ms\n", direct, Percentile(direct_lat, 50), Percentile(direct_lat, 99));
  std::printf("  through the gateway: %8.0f req/s  p50 %.3f ms  p99 %.3f ms\n", gw, Percentile(gw_lat, 50), Percentile(gw_lat, 99));
}

}  // namespace
}  // namespace llmdesk::bench

int main(int argc, char** argv) {
  llmdesk::bench::Args a;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf("usage: llmdesk-gateway-bench [--requests N (200)] [--tokens N (64)] [--clients N (4)] [--seconds S (5)]\n"
                  "                             [--model GGUF (default: a generated one)]\n"
                  "(a) streamed completions direct to llama-server vs through the gateway: added latency to the first\n"
                  "    content byte p50/p99 (goal p50 <= 1 ms) and the tokens/s ratio (goal >= 0.97);\n"
                  "(b) non-streamed requests/s against a trivial upstream, direct vs through the gateway.\n");
      return 0;
    }
  if (argc % 2 == 0) llmdesk::bench::Die(std::string("option ") + argv[argc - 1] + " needs a value (see --help)");
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--requests") a.requests = std::atoi(v.c_str());
    else if (k == "--tokens") a.tokens = std::atoi(v.c_str());
    else if (k == "--clients") a.clients = std::atoi(v.c_str());
    else if (k == "--seconds") a.seconds = std::atoi(v.c_str());
    else if (k == "--model") a.model = v;
    else llmdesk::bench::Die("unknown option " + k);
  }
  llmdesk::bench::StreamBench(a);
  llmdesk::bench::ThroughputBench(a);
  return 0;
}
