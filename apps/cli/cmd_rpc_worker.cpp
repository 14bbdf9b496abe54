// `llmdesk rpc-worker` (issue 14): this machine lends its CPU/GPU to an engine elsewhere as a llama.cpp RPC
// worker. ggml-rpc-server (built beside llama-server) runs under the manager like any engine — argv only,
// the holder-naming port check, restart with backoff, a log file, events — as one `command:` backend whose
// readiness and health are the RPC HELLO handshake (ModelConfig::rpc_server_host). Foreground until Ctrl-C.
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "cli.h"
#include "control/control.h"
#include "engine/engine.h"
#include "event_inbox.h"
#include "manager/manager.h"
#include "net/http_policy.h"
#include "process/wait.h"
#include "rpc/rpc.h"
#include "signals.h"

namespace llmdesk::cli {
namespace {

constexpr const char* kBackendName = "rpc-worker";
constexpr long long kServerRoomMb = 64;  // --mem: what the server needs besides the buffers it lends

struct WorkerArgs {
  std::string host = "127.0.0.1";
  int port = rpc::kDefaultPort;
  int mem_mb = 0;  // 0 = no cap
  int threads = 0;  // 0 = rpc-server's default
  bool verbose = false;
};

// The RPC protocol has no authentication and no encryption: whoever reaches the port can run
// computations on this machine and read what it holds.
void WarnNotLoopback(const std::string& host) {
  std::cerr << "\n"
               "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
               "!! WARNING: the RPC worker listens on "
            << host
            << ", not on loopback.\n"
               "!! The llama.cpp RPC protocol has NO authentication and NO encryption: anyone who can\n"
               "!! reach this port can use this machine's memory and compute and read what it holds.\n"
               "!! Use it on a trusted network only (firewall the port to the engine's machine).\n"
               "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n"
            << std::flush;
}

// ggml-rpc-server from the engine the config names (engine.llama_server), found beside llama-server.
Result<std::filesystem::path> LocateRpcServer(const config::Config& cfg) {
  auto located = engine::LocateLlamaServer(cfg.engine, config::ProcessEnv());
  if (!located.ok()) return located.status();
  auto path = located->path.parent_path() / "ggml-rpc-server";
  if (access(path.c_str(), X_OK) != 0)
    return Status::NotFound(path.string() + " does not exist; the engine needs -DGGML_RPC=ON: run scripts/setup");
  return path;
}

// The one backend: ggml-rpc-server on HOST:${PORT}. The config's source names the address, so each worker
// address has its own lock, state file and log directory (two workers on one machine do not collide).
manager::Options WorkerOptions(const config::Config& cfg, const std::filesystem::path& rpc_server, const WorkerArgs& a) {
  config::Config c;
  c.source = "/rpc-worker/" + a.host + ":" + std::to_string(a.port);
  c.engine = cfg.engine;
  c.tool_server.tools.clear();
  c.ports.on_conflict = config::OnConflict::kFail;  // engines elsewhere name this exact port: never move it
  c.ports.range_first = c.ports.range_last = a.port;
  config::ModelConfig m;
  m.name = kBackendName;
  m.kind = config::ModelConfig::Kind::kCommand;
  m.port = a.port;
  m.rpc_server_host = a.host;
  m.startup_timeout_s = 60;
  m.stop_grace_s = 5;
  if (a.mem_mb > 0) {  // RLIMIT_DATA through util-linux prlimit (argv, no shell): see the --mem help
    // Room for the server itself: ~1 MB of heap idle, plus an 8 MB stack per compute thread (rpc-server's
    // default thread count depends on the CPU: count them all then).
    const long long threads = a.threads > 0 ? a.threads : std::max(1u, std::thread::hardware_concurrency());
    const long long limit_mb = a.mem_mb + kServerRoomMb + 8 * threads;
    m.command = {"prlimit", "--data=" + std::to_string(limit_mb << 20), "--"};
  }
  m.command.insert(m.command.end(), {rpc_server.string(), "--host", a.host, "--port", "${PORT}"});
  if (a.threads > 0) m.command.insert(m.command.end(), {"--threads", std::to_string(a.threads)});
  if (a.verbose) m.env["GGML_RPC_DEBUG"] = "1";  // one line per RPC command: buffers and tensors held
  c.models.push_back(m);
  manager::Options o;
  o.config = std::move(c);
  // Every check is a client connection the rpc-server logs ("Accepted client connection"); a worker that
  // stops answering shows on the engine's side at once anyway (its next start names it).
  o.health_interval = std::chrono::seconds(30);
  return o;
}

int RunWorker(Context& ctx, const WorkerArgs& a) {
  in_addr parsed{};
  if (inet_pton(AF_INET, a.host.c_str(), &parsed) != 1) {
    std::cerr << "llmdesk rpc-worker: --host must be an IPv4 address (rpc-server binds only those), e.g. 127.0.0.1 or "
                 "192.168.1.20; got '" << a.host << "'\n";
    return kExitBadConfig;
  }
  auto cfg = ctx.LoadConfig(/*quiet_warnings=*/true);
  if (!cfg) return kExitBadConfig;
  if (!net::IsLoopbackAddress(a.host)) WarnNotLoopback(a.host);
  auto rpc_server = LocateRpcServer(*cfg);
  if (!rpc_server.ok()) {
    std::cerr << "llmdesk rpc-worker: " << rpc_server.status().message() << "\n";
    return kExitFailure;
  }

  StopSignals signals;  // before the manager creates threads: they inherit the mask
  auto created = manager::Manager::Create(WorkerOptions(*cfg, *rpc_server, a));
  if (!created.ok()) {
    std::cerr << "llmdesk rpc-worker: " << created.status().message() << "\n";
    return kExitFailure;
  }
  std::unique_ptr<manager::Manager> mgr = std::move(created).value();
  for (const auto& note : mgr->startup_notes()) std::cout << "llmdesk rpc-worker: " << note << "\n";
  EventInbox inbox;
  std::optional<manager::Subscription> sub = mgr->Subscribe([&inbox](const manager::Event& e) { inbox.Post(e); });
  if (auto s = mgr->Get(kBackendName); s.ok())
    std::cout << "llmdesk rpc-worker: log " << s->log_file << "\n" << std::flush;
  (void)mgr->Start(kBackendName);

  int exit_code = kExitOk;
  bool running = true;
  while (running) {
    auto ready = process::WaitAny({{signals.wait_handle()}, {inbox.wait_handle()}}, std::chrono::milliseconds(-1));
    if (!ready.ok()) break;
    if ((*ready)[0]) {
      std::cout << "llmdesk rpc-worker: received " << StopSignals::Name(signals.Take()) << "; stopping\n" << std::flush;
      break;
    }
    uint64_t dropped = 0;
    for (const auto& e : inbox.Take(dropped)) {
      std::cout << control::FormatEvent(e) << "\n";
      if (e.kind != manager::Event::Kind::kState) continue;
      if (e.new_state == manager::State::kReady)
        std::cout << "llmdesk rpc-worker: ready at " << a.host << ":" << e.port << " (pid " << e.pid
                  << "); a model entry uses it with `rpc: [" << a.host << ":" << e.port << "]`\n";
      if (e.new_state == manager::State::kFailed) {
        std::cerr << "llmdesk rpc-worker: " << e.reason << "\n";
        if (e.reason.rfind("port ", 0) == 0)  // a port problem: the worker's port is never moved
          std::cerr << "llmdesk rpc-worker: engines name this worker by its address: free the port, or choose "
                       "another one with --port\n";
        exit_code = kExitFailure;
        running = false;
      }
    }
    std::cout << std::flush;
  }
  StopSignals::Watch second(signals, [&mgr](int) { mgr->KillAll(); });
  if (Status s = mgr->StopAllAndWait(std::chrono::seconds(15)); !s.ok())
    std::cerr << "llmdesk rpc-worker: " << s.message() << "\n";
  sub.reset();
  return exit_code;
}

}  // namespace

void RegisterRpcWorkerCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<WorkerArgs>();
  auto* cmd = app.add_subcommand(
      "rpc-worker",
      "Lend this machine to a model split over several machines: run llama.cpp's RPC server (ggml-rpc-server) "
      "supervised, until Ctrl-C. A model entry on the engine's machine lists it in `rpc: [HOST:PORT]`.");
  cmd->add_option("--host", args->host,
                  "IPv4 address to listen on (default 127.0.0.1; another address warns: RPC has no authentication)");
  cmd->add_option("--port", args->port, "port to listen on (default 50052; a held port is refused, naming its holder)")
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--mem", args->mem_mb,
                  "cap in MB on the memory the worker's buffers may take (the process's data limit, plus room for "
                  "the server itself): an engine asking for more gets an allocation error instead of this machine "
                  "swapping. The layer split follows each device's memory; steer it with --tensor-split in the "
                  "model's args")
      ->check(CLI::Range(1, 1 << 24));
  cmd->add_option("--threads", args->threads, "CPU threads of the worker (default: rpc-server's)")->check(CLI::Range(1, 1024));
  cmd->add_flag("--verbose", args->verbose, "log every RPC command (buffers allocated, tensors stored)");
  cmd->callback([&ctx, args] { ctx.exit_code = RunWorker(ctx, *args); });
}

}  // namespace llmdesk::cli
