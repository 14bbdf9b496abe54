// Backend, part 4 (issue 14): llama.cpp RPC workers — the check of a model's `rpc:` workers before each
// spawn, the HELLO probe of an `llmdesk rpc-worker` backend, and the health watch of a ready `url:` one.
#include <fmt/format.h>

#include <future>

#include "manager/backend.h"
#include "rpc/rpc.h"

namespace llmdesk::manager {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kWorkerConnectTimeout{3000};
constexpr milliseconds kWorkerAnswerTimeout{3000};

RpcWorkerStatus CheckOne(const std::string& address) {
  RpcWorkerStatus out{address, rpc::ToString(rpc::WorkerState::kUnreachable), ""};
  auto endpoint = rpc::ParseEndpoint(address);  // validated by the config loader; checked again all the same
  if (!endpoint.ok()) {
    out.detail = endpoint.status().message();
    return out;
  }
  rpc::WorkerCheck check = rpc::CheckWorker(*endpoint, kWorkerConnectTimeout, kWorkerAnswerTimeout);
  out.state = rpc::ToString(check.state);
  out.detail = check.detail;
  return out;
}

// The failure reason for the first worker that is not answering, or "" when all are.
std::string WorkersProblem(const std::string& model, const std::vector<RpcWorkerStatus>& workers) {
  for (const auto& w : workers) {
    if (w.state == rpc::ToString(rpc::WorkerState::kAnswering)) continue;
    const auto endpoint = rpc::ParseEndpoint(w.address);
    const std::string port = endpoint.ok() ? std::to_string(endpoint->port) : "PORT";
    std::string what = w.state == rpc::ToString(rpc::WorkerState::kUnreachable) ? "does not answer" : "is " + w.state;
    return fmt::format("RPC worker {} {}: {}; the engine was not started (start the worker on that machine with "
                       "`llmdesk rpc-worker --host ADDRESS --port {}`, or remove it from models.{}.rpc)",
                       w.address, what, w.detail, port, model);
  }
  return {};
}

}  // namespace

RpcWorkerCheck::RpcWorkerCheck(std::vector<std::string> addresses, Done done)
    : thread_([this, addresses = std::move(addresses), done = std::move(done)] {
        std::vector<std::future<RpcWorkerStatus>> pending;
        for (const auto& a : addresses) pending.push_back(std::async(std::launch::async, CheckOne, a));
        std::vector<RpcWorkerStatus> results;
        for (auto& f : pending) results.push_back(f.get());
        done(std::move(results));
        finished_ = true;
      }) {}

RpcWorkerCheck::~RpcWorkerCheck() { thread_.join(); }

void Backend::SpawnChecked() {
  if (model_.rpc.empty()) return SpawnAttempt("");
  std::erase_if(rpc_checks_, [](const auto& c) { return c->finished(); });
  ++generation_;  // a stop (or another start) while the check runs makes its result stale
  std::string list;
  for (const auto& w : model_.rpc) list += (list.empty() ? "" : ", ") + w;
  for (auto& w : status_.rpc_workers) w.state = "checking", w.detail.clear();
  if (!Transition(status_.state, State::kStarting, "checking RPC workers " + list)) return;
  const uint64_t generation = generation_;
  rpc_checks_.push_back(std::make_unique<RpcWorkerCheck>(
      model_.rpc, [this, generation, &host = host_](std::vector<RpcWorkerStatus> workers) {
        host.Post([this, generation, workers = std::move(workers)]() mutable { OnRpcCheck(generation, std::move(workers)); });
      }));
}

void Backend::OnRpcCheck(uint64_t generation, std::vector<RpcWorkerStatus> workers) {
  if (generation != generation_ || status_.state != State::kStarting || active_) return;  // stopped meanwhile
  status_.rpc_workers = std::move(workers);
  host_.Publish(*this);
  if (std::string problem = WorkersProblem(model_.name, status_.rpc_workers); !problem.empty()) {
    log_->Add("=== llmdesk: " + problem);
    return Fail(problem);
  }
  SpawnAttempt("");
}

void Backend::ProbeRpcServer() {
  const bool ready = status_.state == State::kReady;
  std::string host = model_.rpc_server_host;
  if (host == "0.0.0.0") host = "127.0.0.1";
  const rpc::Endpoint endpoint{host, status_.port};
  const milliseconds connect = ready ? milliseconds(1000) : milliseconds(200);
  const milliseconds answer = ready ? milliseconds(1000) : milliseconds(2000);
  prober_->ProbeWith(generation_, [endpoint, connect, answer] {
    rpc::WorkerCheck c = rpc::CheckWorker(endpoint, connect, answer);
    ProbeResult r;
    // Busy = serving its one client (an engine): alive. Only a worker that takes no connection is down.
    r.http_status = c.state == rpc::WorkerState::kAnswering || c.state == rpc::WorkerState::kBusy ? 200 : -1;
    r.detail = std::string(rpc::ToString(c.state)) + ": " + c.detail;
    return r;
  });
}

void Backend::OnRemoteHealthProbe(const ProbeResult& r) {
  const Options& options = host_.options();
  if (r.http_status >= 200 && r.http_status < 300) {
    health_failures_ = 0;
    probe_at_ = Clock::now() + options.health_interval;
    return;
  }
  ++health_failures_;
  if (r.timed_out || health_failures_ >= options.health_failures) {
    Fail(fmt::format("{}/models stopped answering ({} failed check{} in a row, last: {})", model_.url,
                     health_failures_, health_failures_ == 1 ? "" : "s",
                     r.http_status > 0 ? "HTTP " + std::to_string(r.http_status) : r.detail));
    return WatchFailedRemote();
  }
  probe_at_ = Clock::now() + options.health_interval;
}

// A `url:` server is not ours to restart, so a failed one is only watched: checked every health_interval,
// and once it answers it is started again (checked, then ready). The gateway forwards to it meanwhile
// anyway; this keeps what status shows true.
void Backend::WatchFailedRemote() { probe_at_ = Clock::now() + host_.options().health_interval; }

void Backend::OnFailedRemoteProbe(const ProbeResult& r) {
  if (r.http_status >= 200 && r.http_status < 300) return Start();
  WatchFailedRemote();
}

}  // namespace llmdesk::manager
