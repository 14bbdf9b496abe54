// `llmdesk up` and `llmdesk serve`: run the stack (stack::Stack: engines, MCP tool server, control API with
// /api/chat) in the foreground until Ctrl-C. `up` shows the live status table on a terminal; `serve` prints
// event lines only. Both serve the control API, so `llmdesk status`, `chat` and the desktop app attach.
//
// Signals (signals.h): SIGINT/SIGTERM are blocked before any thread exists and read from a signalfd in the
// main loop. The first stops everything (SIGTERM, grace, SIGKILL); a second one SIGKILLs the engines at once.
// SIGHUP re-reads the config file and applies it (stack::Stack::Reload), printing what changed.
// Manager events arrive on its supervisor thread and are handed over through a bounded queue plus a wake
// (event_inbox.h), so printing never blocks the manager and a slow terminal cannot make it grow without limit.
// The main loop waits through process/wait.h: the same code on Windows (Ctrl+C / Ctrl+Break; no SIGHUP there).
#include <signal.h>
#include <unistd.h>  // getpid, isatty: mingw-w64 has them too

#include <algorithm>
#include <atomic>
#include <thread>
#include <deque>
#include <map>
#include <set>
#include <iostream>
#include <mutex>

#include "cmd_manager.h"
#include "event_inbox.h"
#include "common/event_bus.h"
#include "control/control.h"
#include "manager/manager.h"
#include "process/wait.h"
#include "signals.h"
#include "stack/stack.h"

namespace llmdesk::cli {
namespace {

using manager::State;

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

// Stops everything (the control API and tool server first, then every engine: SIGTERM, grace, SIGKILL)
// while the main thread keeps printing what happens. A second signal SIGKILLs the engines at once.
int StopAndReport(stack::Stack& stack, StopSignals& signals, EventInbox& inbox, Screen& screen, bool print_logs,
                  std::chrono::milliseconds grace) {
  Status stopped;
  std::thread stopper([&] { stopped = stack.Stop(grace); });
  std::atomic<bool> killed{false};
  {
    StopSignals::Watch second(signals, [&](int) {
      if (!killed.exchange(true)) stack.Kill();
    });
    // Print the stop as it happens, until the stopper is done (it ends the inbox traffic itself).
    for (;;) {
      (void)process::WaitAny({{inbox.wait_handle()}}, std::chrono::milliseconds(100));
      uint64_t dropped = 0;
      auto events = inbox.Take(dropped);
      const auto list = stack.manager().List();
      if (!events.empty()) screen.Show(events, list, print_logs);
      if (std::none_of(list.begin(), list.end(), [](const auto& s) { return Active(s.state); })) break;
    }
    stopper.join();
  }
  if (killed) screen.Message("second signal: the engines were killed without waiting");
  else if (!stopped.ok()) screen.Message("llmdesk: " + stopped.message());
  return kExitOk;
}

// SIGHUP: the config file re-read and applied; what happened (or every error, nothing changed) printed.
void ReloadOnSignal(stack::Stack& stack, Screen& screen) {
  screen.Message("received SIGHUP; reloading the config");
  auto report = stack.Reload();
  if (!report.ok()) return screen.Message("llmdesk: reload refused: " + report.status().message());
  for (const auto& line : control::ReloadReportLines(control::ToJson(*report))) screen.Message("llmdesk: " + line);
}

}  // namespace

int RunForeground(const config::Config& cfg, const std::vector<std::string>& names, bool serve, bool print_logs,
                  bool start_none) {
  auto chosen = start_none ? std::optional<std::vector<std::string>>(std::vector<std::string>{}) : ChooseBackends(cfg, names);
  if (!chosen) return kExitBadConfig;

  ReloadSignal reload;   // SIGHUP: re-read the config (stack::Stack::Reload)
  StopSignals signals;  // before the stack creates threads: they inherit the mask
  auto prepared = PrepareForStart(cfg, *chosen, signals);  // `hf:` models pulled; offline: the demo model
  if (!prepared) return kExitFailure;
  auto started = stack::Stack::Start({.config = *prepared, .control_api = true});
  if (!started.ok()) {
    std::cerr << "llmdesk: " << started.status().message() << "\n";
    return kExitFailure;
  }
  std::unique_ptr<stack::Stack> stack = std::move(started).value();
  manager::Manager& mgr = stack->manager();
  std::cout << "llmdesk " << (serve ? "serve" : "up") << ": control API at " << stack->control_url() << " (pid "
            << getpid() << "); MCP tool server at " << stack->tool_server_url() << "\n" << std::flush;
  for (const auto& note : stack->notes()) std::cout << "llmdesk: " << note << "\n";
  std::cout << "llmdesk: OpenAI-compatible gateway at " << stack->control_url() << "/v1 (models start on demand)\n";

  EventInbox inbox;
  std::optional<manager::Subscription> sub = mgr.Subscribe([&inbox](const manager::Event& e) { inbox.Post(e); });
  Screen screen(!serve && isatty(STDOUT_FILENO));
  bool none_autostart = std::none_of(cfg.models.begin(), cfg.models.end(), [](const auto& m) { return m.autostart; });
  if (!chosen->empty()) {
    std::string list;
    for (const auto& n : *chosen) list += (list.empty() ? "" : ", ") + n;
    screen.Message("starting " + list + (names.empty() ? (none_autostart ? " (no model is marked autostart: all local models)"
                                                                           : " (autostart)")
                                                       : ""));
  }
  for (const auto& n : *chosen)
    if (Status s = mgr.Start(n); !s.ok()) screen.Message("cannot start " + n + ": " + s.message());
  // Issue 14: `url:` backends are checked at once (GET URL/models), so status shows whether they answer like
  // a local one's; a ready one is then health-watched by the manager.
  for (const auto& m : prepared->models)
    if (m.kind == config::ModelConfig::Kind::kRemote) (void)mgr.Start(m.name);

  int exit_code = kExitOk;
  for (;;) {
    auto ready = process::WaitAny({{signals.wait_handle()}, {inbox.wait_handle()}, {reload.wait_handle()}},
                                  std::chrono::milliseconds(-1));
    if (!ready.ok()) break;
    if ((*ready)[0]) {
      int sig = signals.Take();
      screen.Message(std::string("received ") + StopSignals::Name(sig) + "; stopping everything");
      break;
    }
    if ((*ready)[2] && reload.Take()) ReloadOnSignal(*stack, screen);
    if ((*ready)[1]) {
      uint64_t dropped = 0;
      auto events = inbox.Take(dropped);
      if (dropped) screen.Message("(" + std::to_string(dropped) + " event lines dropped: the terminal was too slow)");
      auto list = mgr.List();
      screen.Show(events, list, print_logs);
      if (!serve && !chosen->empty()) {
        if (auto why = GiveUpReason(list)) {
          screen.Message("llmdesk: nothing is running and a backend failed:\n" + *why);
          exit_code = kExitFailure;
          break;
        }
      }
    }
  }

  double grace_s = 0;
  for (const auto& m : cfg.models) grace_s = std::max(grace_s, m.stop_grace_s);
  StopAndReport(*stack, signals, inbox, screen, print_logs,
                std::chrono::milliseconds(static_cast<int64_t>((grace_s + 5) * 1000)));
  sub.reset();
  stack.reset();
  screen.Message("stopped");
  return exit_code;
}

}  // namespace llmdesk::cli
