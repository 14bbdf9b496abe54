// The stdio transport of mcp::Client (contract in client.h): a child process speaking line-delimited
// JSON-RPC. One thread owns the child — it spawns it (PDEATHSIG follows the spawning thread, so that must be a
// thread that lives as long as the child) and reads its stdout, stderr and exit — and hands replies to the
// requests waiting for them. The same code on both systems: it waits through process/wait.h (poll on POSIX,
// WaitForMultipleObjects on Windows) and reads through the Child's byte reads.
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "mcp/client.h"
#include "mcp/jsonrpc.h"
#include "process/process.h"
#include "process/wait.h"

namespace llmdesk::mcp {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxLine = 16 * 1024 * 1024;  // one JSON-RPC message
constexpr size_t kStderrLines = 40;
// How long a write the server refused (it closed its stdin) waits for the server's exit to be seen.
constexpr std::chrono::milliseconds kExitReportWait{2000};

class StdioTransport : public Transport {
 public:
  StdioTransport(ServerSpec spec, std::function<void(const json&)> on_notification, ServerRequestHandler on_request,
                 ClosedFn on_closed)
      : spec_(std::move(spec)),
        on_notification_(std::move(on_notification)),
        on_request_(std::move(on_request)),
        on_closed_(std::move(on_closed)) {}

  ~StdioTransport() override {
    wake_.Signal();
    if (thread_.joinable()) thread_.join();
  }

  Status Start() {
    std::promise<Status> spawned;
    auto result = spawned.get_future();
    thread_ = std::thread([this, &spawned] { Run(spawned); });
    return result.get();
  }

  void SetSession(std::string, std::string) override {}
  std::string ReceivedSession() const override { return ""; }
  bool SessionLost(const Status&) const override { return false; }
  std::string Describe() const override {
    std::string out = "stdio:";
    for (const auto& a : spec_.command) out += " " + a;
    return out;
  }

  Status Notify(const json& notification) override { return Write(DumpWire(notification), Clock::now() + std::chrono::seconds(5)); }

  Result<json> Request(const json& request, Clock::time_point deadline, const CancelToken* cancel) override {
    const std::string key = DumpWire(request.value("id", json()));
    {
      std::lock_guard lock(mu_);
      if (!dead_.empty()) return Status::Unavailable(dead_);
      pending_[key];  // an empty slot: the reader fills it
    }
    uint64_t watch = cancel ? cancel->OnCancel([this] {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    }) : 0;
    Status written = Write(DumpWire(request), deadline);
    std::unique_lock lock(mu_);
    if (written.ok())
      cv_.wait_until(lock, deadline, [&] {
        return pending_[key].has_value() || !dead_.empty() || (cancel && cancel->cancelled());
      });
    std::optional<json> reply = std::move(pending_[key]);
    pending_.erase(key);
    const std::string dead = dead_;
    lock.unlock();
    if (cancel) cancel->Forget(watch);
    if (reply) return *reply;
    if (!written.ok()) return written;
    if (cancel && cancel->cancelled()) return Status::Cancelled("cancelled");
    if (!dead.empty()) return Status::Unavailable(dead);
    return Status::Timeout(Name() + " did not answer in time" + StderrTail());
  }

 private:
  std::string Name() const { return "MCP server '" + spec_.name + "' (" + Describe() + ")"; }

  // "; its last output:\n  line..." — the server's own words on what went wrong (or that it said nothing);
  // the last 10 lines: this text may reach the model as a tool result.
  std::string StderrTail() const {
    std::lock_guard lock(mu_);
    if (stderr_.empty()) return "; it wrote nothing to stderr";
    std::string out = "; its last output:";
    for (size_t i = stderr_.size() > 10 ? stderr_.size() - 10 : 0; i < stderr_.size(); ++i) out += "\n  " + stderr_[i];
    return out;
  }

  // Writes one line, waiting (bounded) while the pipe is full. The reader thread passes `only_if_free`: it
  // must not wait long for a writer that may itself wait for the child, which may wait for the reader; it
  // waits for the lock until `deadline` only. (Not a bare try_lock: a caller that has just written a request
  // may still hold the lock when the server's question about it arrives, and the answer would be lost.)
  Status Write(std::string line, Clock::time_point deadline, bool only_if_free = false) {
    line += '\n';
    std::unique_lock lock(write_mu_, std::defer_lock);
    if (only_if_free && !lock.try_lock_until(deadline)) return Status::Unavailable("stdin is busy");
    if (!lock.owns_lock()) lock.lock();
    std::string_view rest = line;
    Status refused;
    while (!rest.empty()) {
      process::WaitHandle room = process::kNoWaitHandle;
      {
        std::lock_guard state(mu_);
        if (!dead_.empty()) return Status::Unavailable(dead_);
        if (!child_) return Status::Unavailable(Name() + " is not running");
        auto n = child_->WriteStdin(rest);
        if (n.ok()) {
          rest.remove_prefix(*n);
          room = child_->input_handle();
        } else {
          refused = Status::Unavailable(Name() + " stopped reading its input: " + n.status().message());
        }
      }
      if (!refused.ok()) return only_if_free ? refused : ExitReportOr(std::move(refused), deadline);
      if (rest.empty()) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return Status::Timeout(Name() + " does not read its input");
      (void)process::WaitAny({{room, /*writable=*/true}}, std::chrono::milliseconds(std::min<long long>(left, 1000)));
    }
    return Status::Ok();
  }

  // A server that stopped reading has mostly exited or is exiting: waits (briefly) for the reader thread to see
  // the exit, so the error carries the exit status and the server's last words instead of a bare "closed its
  // stdin". Not for the reader thread itself, which is the one that would see it.
  Status ExitReportOr(Status refused, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, std::min(deadline, Clock::now() + kExitReportWait), [&] { return !dead_.empty(); });
    return dead_.empty() ? refused : Status::Unavailable(dead_);
  }

  void OnLine(std::string_view line) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
    json message;
    if (ParseWire(line, message) || !message.is_object()) return;  // servers' stray stdout output is not ours
    const bool is_reply = !message.contains("method") && (message.contains("result") || message.contains("error"));
    if (is_reply) {
      std::lock_guard lock(mu_);
      auto it = pending_.find(DumpWire(message.value("id", json())));
      if (it != pending_.end()) {
        it->second = std::move(message);
        cv_.notify_all();
      }
      return;
    }
    if (message.contains("id")) {
      json reply = AnswerServerRequest(message, on_request_);
      (void)Write(DumpWire(reply), Clock::now() + std::chrono::milliseconds(200), /*only_if_free=*/true);
      return;
    }
    if (on_notification_) on_notification_(message);
  }

  // Adds bytes read from stdout or stderr to `buffer`, handing out complete lines.
  void Take(std::string_view chunk, std::string& buffer, bool is_stdout) {
    buffer.append(chunk);
    size_t start = 0;
    for (size_t eol; (eol = buffer.find('\n', start)) != std::string::npos; start = eol + 1) {
      std::string_view line(buffer.data() + start, eol - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // "\r\n": Windows programs' text mode
      if (is_stdout) {
        OnLine(line);
      } else {
        spdlog::debug("mcp {} stderr: {}", spec_.name, line.substr(0, 2000));
        std::lock_guard lock(mu_);
        stderr_.emplace_back(line.substr(0, 2000));
        if (stderr_.size() > kStderrLines) stderr_.pop_front();
      }
    }
    buffer.erase(0, start);
    if (buffer.size() > kMaxLine) buffer.clear();  // a message too large to be one: drop it
  }

  void Run(std::promise<Status>& spawned) {
    process::SpawnSpec ss;
    ss.argv = spec_.command;
    ss.env = spec_.env;
    ss.stdio = process::SpawnSpec::Stdio::kPipes;
    auto child = process::Child::Spawn(ss);
    if (!child.ok()) {
      spawned.set_value(Status::Unavailable(Name() + " could not be started: " + child.status().message()));
      return;
    }
    {
      std::lock_guard lock(mu_);
      child_ = std::move(child).value();
    }
    spawned.set_value(Status::Ok());
    std::string out_buf, err_buf;
    bool out_open = true, err_open = true;
    for (;;) {
      auto ready = process::WaitAny({{child_->exit_handle()}, {wake_.handle()},
                                     {out_open ? child_->output_handle() : process::kNoWaitHandle},
                                     {err_open ? child_->error_handle() : process::kNoWaitHandle}},
                                    std::chrono::milliseconds(-1));
      if (!ready.ok()) break;
      const std::vector<bool>& r = *ready;
      if (r[1]) break;  // the transport is going away
      if (r[2]) out_open = child_->ReadOutputBytes([&](std::string_view b) { Take(b, out_buf, true); });
      if (r[3]) err_open = child_->ReadErrorBytes([&](std::string_view b) { Take(b, err_buf, false); });
      // Exited, and what its pipes held is read: a pipe still ready is read first (until its end of file).
      if (r[0] && !r[2] && !r[3]) {
        auto exit = child_->TryReap();
        std::string why;
        {
          std::lock_guard lock(mu_);
          dead_ = Name() + " exited (" + (exit ? exit->ToString() : std::string("gone")) + ")";
          if (!stderr_.empty()) dead_ += "; its last output:";
          for (const auto& l : stderr_) dead_ += "\n  " + l;
          why = dead_;
          cv_.notify_all();
        }
        if (on_closed_) on_closed_(why);  // outside mu_: the callback takes its owner's locks
        break;
      }
    }
    {
      std::lock_guard lock(mu_);
      if (dead_.empty()) dead_ = Name() + " was closed";
      cv_.notify_all();
    }
    // Ask it to go (EOF on stdin, then SIGTERM); the Child's destructor SIGKILLs what remains.
    child_->CloseStdin();
    if (!child_->exited()) {
      child_->Terminate(std::chrono::seconds(2));
      // Until the kill is due: 2 s, or at once where the polite stop could not be sent (Windows without a console).
      auto grace = std::chrono::milliseconds(2000);
      if (auto due = child_->NextDeadline())
        grace = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(*due - Clock::now()),
                           std::chrono::milliseconds(0), grace);
      auto ended = process::WaitAny({{child_->exit_handle()}}, grace);
      if (!ended.ok() || !(*ended)[0]) child_->Kill();
      child_->TryReap();
    }
    std::lock_guard lock(mu_);
    child_.reset();
  }

  const ServerSpec spec_;
  std::function<void(const json&)> on_notification_;
  ServerRequestHandler on_request_;
  ClosedFn on_closed_;
  process::WakeEvent wake_;
  std::thread thread_;
  std::timed_mutex write_mu_;  // one line at a time on stdin
  mutable std::mutex mu_;  // guards child_, pending_, dead_, stderr_
  std::condition_variable cv_;
  std::unique_ptr<process::Child> child_;
  std::map<std::string, std::optional<json>> pending_;
  std::string dead_;
  std::deque<std::string> stderr_;
};

}  // namespace

Result<std::unique_ptr<Transport>> MakeStdioTransport(const ServerSpec& spec,
                                                      std::function<void(const json&)> on_notification,
                                                      ServerRequestHandler on_request, ClosedFn on_closed) {
  auto t = std::make_unique<StdioTransport>(spec, std::move(on_notification), std::move(on_request),
                                            std::move(on_closed));
  if (Status s = t->Start(); !s.ok()) return s;
  return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace llmdesk::mcp
