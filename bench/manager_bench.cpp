// llmdesk-manager-bench — how fast the manager notices readiness, and what a port conflict costs.
//
// (a) readiness lag: manager-reported `ready` (Event::time) minus the instant the engine became
//     healthy (llmdesk-bench-engine records it), over --starts starts with a random load time
//     (--load-ms, default 200-2000); once with an engine that prints "model loaded" like llama-server
//     (the manager probes at once on that line) and once with a silent one (polling alone). Baseline in the same run: llama-swap's default policy (wait 250 ms,
//     then poll /health every 5 s) against the same engine, --baseline-starts times.
// (b) conflict overhead: Start() -> `ready` with the configured port free vs held by a listener of
//     this process, alternating, --conflict-rounds each. For the record, the seed's approach on a held
//     port: bind-probe with SO_REUSEADDR, 3 retries x 2 s, then the next port.
//     Engine: the stand-in (load 0 ms), or the real llama-server with --model FILE.gguf.
// Not a test: prints a table of figures. Usage: llmdesk-manager-bench [--starts N] [--baseline-starts N]
//   [--conflict-rounds N] [--seed-rounds N] [--load-ms A-B] [--model GGUF] [--llama-server PATH]
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "bench_util.h"
#include "common/unique_fd.h"
#include "manager/manager.h"

namespace llmdesk::bench {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Args {
  int starts = 50, baseline_starts = 8, conflict_rounds = 20, seed_rounds = 2;
  std::string load_ms = "200-2000";
  std::string model;         // real llama-server model for (b); empty = stand-in
  std::string llama_server;  // default: the setup prefix's
};

// Waits for `backend` to reach ready (or failed) through a manager subscription.
class ReadyWatcher {
 public:
  ReadyWatcher(manager::Manager& m, std::string backend) : backend_(std::move(backend)) {
    sub_ = m.Subscribe([this](const manager::Event& e) {
      if (e.kind != manager::Event::Kind::kState || e.backend != backend_) return;
      std::lock_guard lock(mu_);
      last_ = e;
      ++count_;
      cv_.notify_all();
    });
  }
  // The ready event after `mark` state events, or nullopt (failed / timeout).
  std::optional<manager::Event> WaitReady(uint64_t mark, std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    bool done = cv_.wait_for(lock, timeout, [&] {
      return count_ > mark && (last_.new_state == manager::State::kReady || last_.new_state == manager::State::kFailed);
    });
    if (!done || last_.new_state != manager::State::kReady) return std::nullopt;
    return last_;
  }
  uint64_t mark() {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  std::string backend_;
  std::mutex mu_;
  std::condition_variable cv_;
  manager::Event last_;
  uint64_t count_ = 0;
  manager::Subscription sub_;
};

int64_t EpochNs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// The last "<healthy_at_ns> <first_200_ns>" line the engine appended.
std::optional<int64_t> HealthyAt(const fs::path& file) {
  std::ifstream in(file);
  int64_t healthy = 0, first = 0;
  std::optional<int64_t> last;
  while (in >> healthy >> first) last = healthy;
  return last;
}

std::unique_ptr<manager::Manager> MakeManager(const std::string& yaml, const fs::path& dir, const fs::path& engine) {
  auto loaded = config::LoadString(yaml, (dir / "bench.yaml").string(), config::ProcessEnv());
  if (!loaded.ok()) Die("bench config: " + loaded.errors().front().ToString());
  auto m = manager::Manager::Create(manager::Options{.config = loaded.config, .llama_server = engine,
                                                     .state_dir = dir / "state", .log_dir = dir / "logs"});
  if (!m.ok()) Die("manager: " + m.status().ToString());
  return std::move(m).value();
}

void StopAndWait(manager::Manager& m, const std::string& name) {
  (void)m.Stop(name);
  auto stopped =
      m.WaitUntil(name, [](const manager::BackendStatus& s) { return s.state == manager::State::kStopped; }, 30s);
  if (!stopped.ok()) Die("bench backend did not stop: " + stopped.status().ToString());
}

// (a) ------------------------------------------------------------------------------------------------------
Samples ManagerLag(const Args& a, const fs::path& dir, const fs::path& engine, int port, bool silent) {
  fs::path ready = dir / (silent ? "ready-a-silent.txt" : "ready-a.txt");
  std::string yaml = BaseYaml(engine, port) + "models:\n  bench:\n    model: " + (dir / "dummy.gguf").string() +
                     "\n    port: " + std::to_string(port) + "\n    env: {LLMDESK_BENCH_READY_FILE: \"" +
                     ready.string() + "\", LLMDESK_BENCH_LOAD_MS: \"" + a.load_ms + "\"" +
                     (silent ? ", LLMDESK_BENCH_SILENT: \"1\"" : "") + "}\n";
  auto m = MakeManager(yaml, dir / (silent ? "a-silent" : "a"), engine);
  ReadyWatcher watch(*m, "bench");
  Samples lag;
  for (int i = 0; i < a.starts; ++i) {
    uint64_t mark = watch.mark();
    if (Status s = m->Start("bench"); !s.ok()) Die("start: " + s.ToString());
    auto ev = watch.WaitReady(mark, 60s);
    if (!ev) Die("bench backend did not become ready; see " + (dir / "a" / "logs").string());
    auto healthy = HealthyAt(ready);
    if (!healthy) Die("engine did not record its healthy time");
    lag.push_back((EpochNs(ev->time) - *healthy) / 1e6);
    StopAndWait(*m, "bench");
  }
  return lag;
}

Samples LlamaSwapLag(const Args& a, const fs::path& dir, const fs::path& engine, int port) {
  fs::path ready = dir / "ready-baseline.txt";
  Samples lag;
  for (int i = 0; i < a.baseline_starts; ++i) {
    Engine e = SpawnEngine(engine, port, {{"LLMDESK_BENCH_READY_FILE", ready.string()}, {"LLMDESK_BENCH_LOAD_MS", a.load_ms}});
    std::this_thread::sleep_for(250ms);  // llama-swap: initial wait
    for (;;) {
      if (HealthOk(port)) break;
      std::this_thread::sleep_for(5s);  // llama-swap: health check interval
    }
    auto now = std::chrono::system_clock::now();
    auto healthy = HealthyAt(ready);
    if (!healthy) Die("engine did not record its healthy time");
    lag.push_back((EpochNs(now) - *healthy) / 1e6);
  }
  return lag;
}

// (b) ------------------------------------------------------------------------------------------------------
struct ConflictFigures {
  Samples free_ms, held_ms, seed_ms;
  std::string engine;
};

ConflictFigures Conflict(const Args& a, const fs::path& dir, const fs::path& engine, int port) {
  ConflictFigures f;
  bool real = !a.model.empty();
  f.engine = real ? "llama-server " + engine.string() + " with " + a.model : "stand-in (load 0 ms)";
  std::string yaml = BaseYaml(engine, port) + "models:\n  bench:\n    model: " +
                     (real ? a.model : (dir / "dummy.gguf").string()) + "\n    port: " + std::to_string(port) +
                     (real ? "\n    args: [--ctx-size, \"256\"]\n" : "\n    env: {LLMDESK_BENCH_LOAD_MS: \"0\"}\n");
  auto m = MakeManager(yaml, dir / "b", engine);
  ReadyWatcher watch(*m, "bench");
  auto timed_start = [&]() -> double {
    uint64_t mark = watch.mark();
    auto t0 = Clock::now();
    if (Status s = m->Start("bench"); !s.ok()) Die("start: " + s.ToString());
    if (!watch.WaitReady(mark, 120s)) Die("bench backend did not become ready; see " + (dir / "b" / "logs").string());
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    StopAndWait(*m, "bench");
    return ms;
  };
  for (int i = 0; i < a.conflict_rounds; ++i) {
    f.free_ms.push_back(timed_start());
    UniqueFd holder = Listen(port);
    f.held_ms.push_back(timed_start());
  }
  for (int i = 0; i < a.seed_rounds; ++i) {
    UniqueFd holder = Listen(port);
    auto t0 = Clock::now();
    int chosen = port;
    for (int attempt = 0; attempt <= 3 && !BindProbeReuseAddr(chosen); ++attempt) {
      if (attempt < 3) std::this_thread::sleep_for(2s);  // the seed: 3 retries x 2 s
      else chosen = port + 1;                            // then the next port (found free)
    }
    Engine e = real ? SpawnEngine(engine, chosen, {}, {"--model", a.model, "--ctx-size", "256"})
                    : SpawnEngine(engine, chosen, {{"LLMDESK_BENCH_LOAD_MS", "0"}});
    auto deadline = Clock::now() + 120s;
    auto wait = 10ms;  // same fast polling as llmdesk, to isolate the cost of the probe
    while (!HealthOk(chosen) && Clock::now() < deadline) {
      std::this_thread::sleep_for(wait);
      wait = std::min(wait * 2, std::chrono::milliseconds(100));
    }
    f.seed_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return f;
}

int Main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--starts") a.starts = std::atoi(v.c_str());
    else if (k == "--baseline-starts") a.baseline_starts = std::atoi(v.c_str());
    else if (k == "--conflict-rounds") a.conflict_rounds = std::atoi(v.c_str());
    else if (k == "--seed-rounds") a.seed_rounds = std::atoi(v.c_str());
    else if (k == "--load-ms") a.load_ms = v;
    else if (k == "--model") a.model = v;
    else if (k == "--llama-server") a.llama_server = v;
    else Die("unknown option " + k);
  }
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  std::ofstream(dir.path() / "dummy.gguf") << "stand-in";
  fs::path stand_in = fs::canonical("/proc/self/exe").parent_path() / "llmdesk-bench-engine";
  fs::path real_engine = a.llama_server.empty() ? fs::path(LLMDESK_BENCH_ENGINE_PREFIX) / "bin" / "llama-server"
                                                : fs::path(a.llama_server);

  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("llmdesk-manager-bench: %d starts (load %s ms), llama-swap baseline %d starts\n", a.starts,
              a.load_ms.c_str(), a.baseline_starts);
  auto conflict = Conflict(a, dir.path(), a.model.empty() ? stand_in : real_engine, FreePort());
  if (a.starts > 0) {  // --starts 0 runs (b) alone, e.g. with --model for the real engine
    auto ours = ManagerLag(a, dir.path(), stand_in, FreePort(), /*silent=*/false);
    auto ours_polling = ManagerLag(a, dir.path(), stand_in, FreePort(), /*silent=*/true);
    auto swap = LlamaSwapLag(a, dir.path(), stand_in, FreePort());
    std::printf("\n(a) readiness lag = reported ready - engine healthy (ms)   engine: stand-in\n");
    PrintRow("llmdesk (engine prints \"model loaded\")", ours);
    PrintRow("llmdesk (silent engine: /health polling only)", ours_polling);
    PrintRow("llama-swap policy (250 ms, then every 5 s)", swap);
    std::printf("  ratio of means, llama-swap / llmdesk polling only: %.0fx\n",
                Mean(swap) / std::max(0.01, Mean(ours_polling)));
  }
  std::printf("\n(b) Start() -> ready (ms)   engine: %s\n", conflict.engine.c_str());
  PrintRow("configured port free", conflict.free_ms);
  PrintRow("configured port held (fallback)", conflict.held_ms);
  PrintRow("seed: bind-probe + 3 x 2 s retries, held", conflict.seed_ms);
  std::printf("  conflict overhead (p50 held - p50 free): %.1f ms (goal <= 50 ms)\n",
              Percentile(conflict.held_ms, 50) - Percentile(conflict.free_ms, 50));
  return 0;
}

}  // namespace
}  // namespace llmdesk::bench

int main(int argc, char** argv) { return llmdesk::bench::Main(argc, argv); }
