// `llmdesk up` and `llmdesk serve`: run the manager in the foreground until Ctrl-C.
//
// Signals: SIGINT/SIGTERM are blocked before any thread exists (so every thread inherits the mask) and
// read from a signalfd in the main loop: nothing runs in a signal handler. Children get a clean mask
// from process::Child. Manager events arrive on its supervisor thread and are handed over through a
// queue plus an eventfd, so printing never blocks the manager.
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <iostream>
#include <mutex>

#include "cmd_manager.h"
#include "common/unique_fd.h"
#include "control/control.h"
#include "manager/manager.h"

namespace llmdesk::cli {
namespace {

using manager::State;

// Events from the supervisor thread to the main loop.
class EventInbox {
 public:
  EventInbox() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  int fd() const { return fd_.get(); }
  void Post(const manager::Event& e) {
    {
      std::lock_guard lock(mu_);
      events_.push_back(e);
    }
    uint64_t one = 1;
    [[maybe_unused]] auto n = write(fd_.get(), &one, sizeof(one));
  }
  std::deque<manager::Event> Take() {
    uint64_t count;
    [[maybe_unused]] auto n = read(fd_.get(), &count, sizeof(count));
    std::lock_guard lock(mu_);
    return std::exchange(events_, {});
  }

 private:
  UniqueFd fd_;
  std::mutex mu_;
  std::deque<manager::Event> events_;
};

bool Active(State s) { return s == State::kStarting || s == State::kReady || s == State::kStopping; }

// Prints event lines and the status table; on a terminal the table is redrawn in place below the lines.
class Screen {
 public:
  explicit Screen(bool tty) : tty_(tty) {}

  void Show(const std::deque<manager::Event>& events, const std::vector<manager::BackendStatus>& list,
            bool print_logs) {
    std::string lines;
    for (const auto& e : events) {
      if (e.kind == manager::Event::Kind::kLog && !print_logs) continue;
      if (e.kind == manager::Event::Kind::kProgress) {
        // Piped output gets a line per stage, not per percent; the terminal's table shows the percent.
        std::string& last = last_stage_[e.backend];
        if (tty_ || e.stage == last) {
          last = e.stage;
          continue;
        }
        last = e.stage;
      }
      lines += control::FormatEvent(e) + "\n";
    }
    bool settled = std::none_of(list.begin(), list.end(), [](const auto& s) {
      return s.state == State::kStarting || s.state == State::kStopping;
    });
    std::string table = control::FormatStatusTable(list);
    std::string out;
    if (tty_) {
      if (table_lines_ > 0) out += "\x1b[" + std::to_string(table_lines_) + "A\x1b[J";
      out += lines + table;
      table_lines_ = static_cast<int>(std::count(table.begin(), table.end(), '\n'));
    } else {
      out += lines;
      // Piped: the table once things settle, so logs stay readable.
      if (settled && table != last_table_ && !lines.empty()) out += table, last_table_ = table;
    }
    std::cout << out << std::flush;
  }

  void Message(const std::string& text) {
    if (tty_ && table_lines_ > 0) std::cout << "\x1b[" << table_lines_ << "A\x1b[J";
    table_lines_ = 0;
    std::cout << text << "\n" << std::flush;
  }

 private:
  bool tty_;
  int table_lines_ = 0;
  std::string last_table_;
  std::map<std::string, std::string> last_stage_;
};

// Which backends to start: the named ones (validated) or the defaults (see control::DefaultBackendsToStart).
std::optional<std::vector<std::string>> ChooseBackends(const config::Config& cfg, const std::vector<std::string>& names) {
  if (names.empty()) return control::DefaultBackendsToStart(cfg);
  for (const auto& n : names) {
    const auto* m = cfg.FindModel(n);
    if (!m) {
      std::string known;
      for (const auto& mc : cfg.models) known += (known.empty() ? "" : ", ") + mc.name;
      std::cerr << "llmdesk: no backend named '" << n << "' in " << (cfg.source.empty() ? "the built-in defaults" : cfg.source)
                << " (configured: " << (known.empty() ? "none" : known) << "); nothing was started.\n";
      return std::nullopt;
    }
    if (m->kind == config::ModelConfig::Kind::kRemote) {
      std::cerr << "llmdesk: '" << n << "' is a remote server (" << m->url << "); llmdesk does not start it.\n";
      return std::nullopt;
    }
  }
  return names;
}

// The reason to give up in `up`: some backend failed and nothing else is running.
std::optional<std::string> GiveUpReason(const std::vector<manager::BackendStatus>& list) {
  if (std::any_of(list.begin(), list.end(), [](const auto& s) { return Active(s.state); })) return std::nullopt;
  std::string why;
  for (const auto& s : list)
    if (s.state == State::kFailed) why += "  " + s.name + ": " + s.reason + "\n";
  if (why.empty()) return std::nullopt;
  return why;
}

// Stops everything and keeps printing events until every running backend has reported it stopped
// (bounded by the longest stop grace + 5 s). A second signal skips the wait: the Manager's destructor
// then SIGKILLs what is left.
void StopAndReport(const config::Config& cfg, manager::Manager& mgr, int sigfd, EventInbox& inbox, Screen& screen,
                   bool print_logs) {
  std::set<std::string> waiting;
  double grace_s = 0;
  for (const auto& s : mgr.List()) {
    if (!Active(s.state)) continue;
    waiting.insert(s.name);
    if (const auto* m = cfg.FindModel(s.name)) grace_s = std::max(grace_s, m->stop_grace_s);
  }
  mgr.StopAll();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>((grace_s + 5) * 1000));
  int quiet_rounds = 0;
  while (!waiting.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd fds[2] = {{sigfd, POLLIN, 0}, {inbox.fd(), POLLIN, 0}};
    if (poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 100))) < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      screen.Message("second signal: not waiting for the engines to exit");
      break;
    }
    auto events = inbox.Take();
    for (const auto& e : events)
      if (e.kind == manager::Event::Kind::kState && !Active(e.new_state)) waiting.erase(e.backend);
    auto list = mgr.List();
    if (!events.empty()) screen.Show(events, list, print_logs);
    // The status says all stopped: allow the last events a few rounds to arrive, never wait for ever.
    if (std::none_of(list.begin(), list.end(), [](const auto& s) { return Active(s.state); }) && ++quiet_rounds >= 3) break;
  }
}

}  // namespace

int RunForeground(const config::Config& cfg, const std::vector<std::string>& names, bool serve, bool print_logs) {
  auto chosen = ChooseBackends(cfg, names);
  if (!chosen) return kExitBadConfig;
  if (chosen->empty() && !serve) {
    std::cerr << "llmdesk: no model to start: the config has no local or command models.\n";
    return kExitFailure;
  }

  // Block before the manager creates threads; they inherit the mask and the signalfd sees the signal.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd sigfd(signalfd(-1, &mask, SFD_CLOEXEC));

  auto created = manager::Manager::Create(manager::Options{.config = cfg});
  if (!created.ok()) {
    std::cerr << "llmdesk: " << created.status().message() << "\n";
    return kExitFailure;
  }
  std::unique_ptr<manager::Manager> mgr = std::move(created).value();

  std::unique_ptr<control::ControlServer> api;
  if (serve) {
    auto started = control::ControlServer::Start(
        *mgr, {.host = cfg.gateway.host, .port = cfg.gateway.port, .token = cfg.gateway.token.value_or("")});
    if (!started.ok()) {
      std::cerr << "llmdesk: " << started.status().message() << "\n";
      return kExitFailure;
    }
    api = std::move(started).value();
    std::cout << "llmdesk serve: control API at " << api->url() << " (pid " << getpid() << ")\n" << std::flush;
  }

  for (const auto& note : mgr->startup_notes()) std::cout << "llmdesk: " << note << "\n";
  EventInbox inbox;
  std::optional<manager::Subscription> sub = mgr->Subscribe([&inbox](const manager::Event& e) { inbox.Post(e); });
  Screen screen(isatty(STDOUT_FILENO));
  bool none_autostart = std::none_of(cfg.models.begin(), cfg.models.end(), [](const auto& m) { return m.autostart; });
  if (!chosen->empty()) {
    std::string list;
    for (const auto& n : *chosen) list += (list.empty() ? "" : ", ") + n;
    screen.Message("starting " + list + (names.empty() ? (none_autostart ? " (no model is marked autostart: all local models)"
                                                                           : " (autostart)")
                                                       : ""));
  }
  for (const auto& n : *chosen)
    if (Status s = mgr->Start(n); !s.ok()) screen.Message("cannot start " + n + ": " + s.message());

  int exit_code = kExitOk;
  for (;;) {
    pollfd fds[2] = {{sigfd.get(), POLLIN, 0}, {inbox.fd(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      [[maybe_unused]] auto n = read(sigfd.get(), &info, sizeof(info));
      screen.Message(std::string("received ") + (info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM") + "; stopping everything");
      break;
    }
    if (fds[1].revents & POLLIN) {
      auto events = inbox.Take();
      auto list = mgr->List();
      screen.Show(events, list, print_logs);
      if (!serve) {
        if (auto why = GiveUpReason(list)) {
          screen.Message("llmdesk: nothing is running and a backend failed:\n" + *why);
          exit_code = kExitFailure;
          break;
        }
      }
    }
  }

  if (api) api->Stop();  // ends SSE streams before the manager goes away
  StopAndReport(cfg, *mgr, sigfd.get(), inbox, screen, print_logs);
  sub.reset();
  mgr.reset();
  screen.Message("stopped");
  return exit_code;
}

}  // namespace llmdesk::cli
