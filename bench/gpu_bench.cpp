// llmdesk-gpu-bench — tokens/s of one generated model on the CPU and on a GPU device, same run (issue 15).
//
//   build/bin/llmdesk-gpu-bench [--device Vulkan0] [--runs 3] [--tokens 64]
//
// Generates a --text model (llmdesk-testmodel) whose answer is long enough for `--tokens` tokens, starts
// llama-server twice on it — `-dev none` (CPU) and `-dev DEVICE -ngl all` — and asks each for the same
// completion `--runs` times, reading the engine's own `timings.predicted_per_second`. Prints per-run tokens/s,
// the medians and the ratio device ÷ CPU. On lavapipe (a software Vulkan device on the same 2 cores) the ratio
// says nothing about GPU speed: it is the correctness path of the Vulkan build. A software device needs
// GGML_VK_VISIBLE_DEVICES=0, which this program sets when `llmdesk devices` would (engine/devices.h).
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "engine/devices.h"

namespace llmdesk::bench {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

struct Args {
  std::string device = "Vulkan0";
  int runs = 3;
  int tokens = 64;
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--device") a.device = v;
    else if (k == "--runs") a.runs = std::max(1, std::atoi(v.c_str()));
    else if (k == "--tokens") a.tokens = std::max(8, std::atoi(v.c_str()));
    else Die("unknown option " + k + " (--device NAME, --runs N, --tokens N)");
  }
  return a;
}

// Tokens per second of each run against one llama-server (loaded once).
Samples Measure(const std::string& model, const std::vector<std::string>& placement,
                const std::map<std::string, std::string>& env, const Args& a) {
  const int port = FreePort();
  std::vector<std::string> extra = {"-m", model, "--ctx-size", "512"};
  extra.insert(extra.end(), placement.begin(), placement.end());
  Engine engine = SpawnEngine(test::LlamaServerPath(), port, env, extra);
  for (auto deadline = std::chrono::steady_clock::now() + 300s; !HealthOk(port);) {
    if (std::chrono::steady_clock::now() > deadline) Die("llama-server did not become healthy in 300 s");
    // A wait on its pidfd, not a sleep: an exit ends it at once.
    if (engine.Wait(100ms)) Die("llama-server exited while loading (" + fmt::format("{}", fmt::join(placement, " ")) + ")");
  }
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(600s);
  Samples out;
  for (int i = 0; i < a.runs; ++i) {
    json req = {{"prompt", "Say it."}, {"n_predict", a.tokens}, {"cache_prompt", false}};
    auto r = c.Post("/completion", req.dump(), "application/json");
    if (!r || r->status != 200) Die("completion failed: " + (r ? r->body : httplib::to_string(r.error())));
    json reply = json::parse(r->body, nullptr, false);
    if (!reply.is_object() || !reply["timings"].is_object()) Die("no timings in the reply: " + r->body.substr(0, 300));
    out.push_back(reply["timings"].value("predicted_per_second", 0.0));
  }
  return out;
}

}  // namespace
}  // namespace llmdesk::bench

int main(int argc, char** argv) {
  using namespace llmdesk;
  using namespace llmdesk::bench;
  Args a = Parse(argc, argv);
  auto report = engine::ProbeDevices(test::LlamaServerPath());
  if (!report.ok()) Die(report.status().message());
  const engine::Device* device = report->Find(a.device);
  if (!device) Die("no device " + a.device + " here; devices: " + report->Describe());

  test::TempDir dir;
  std::string text;
  while (text.size() < static_cast<size_t>(a.tokens) * 8) text += "The quick brown fox jumps over the lazy dog. ";
  const auto model = (dir.path() / "text.gguf").string();
  auto made = test::RunCommand({test::BinPath("llmdesk-testmodel").string(), "--out", model, "--text", text}, 120s);
  if (made.exit_code != 0) Die("llmdesk-testmodel failed: " + made.err);

  std::printf("llmdesk-gpu-bench: %d tokens per completion, %d runs each; device %s (%s%s)\n", a.tokens, a.runs,
              device->name.c_str(), device->description.c_str(), device->software ? ", software" : "");
  Samples cpu = Measure(model, {"-dev", "none"}, {}, a);
  Samples gpu = Measure(model, {"-dev", device->name, "-ngl", "all"}, engine::DeviceEnv(*device), a);
  std::printf("%-28s %s\n", "where", "tokens/s per run");
  auto row = [](const std::string& what, const Samples& s) {
    std::string runs;
    for (double v : s) runs += fmt::format("{:8.1f}", v);
    std::printf("%-28s %s   median %.1f\n", what.c_str(), runs.c_str(), Percentile(s, 50));
  };
  row("cpu (-dev none)", cpu);
  row(device->name + " (-ngl all)", gpu);
  std::printf("ratio %s / cpu (medians): %.2f%s\n", device->name.c_str(), Percentile(gpu, 50) / Percentile(cpu, 50),
              device->software ? "  [software device: a correctness path, not a GPU speed]" : "");
  return 0;
}
