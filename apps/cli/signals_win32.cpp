// signals.h on Windows: SetConsoleCtrlHandler. The handler is process-wide by nature (Windows calls a plain
// function), so the Watches it serves and the signals queued for Take() live in one function-local table.
// Closing the console window, logoff and shutdown end the process as soon as the handler returns (Windows gives it
// 5 s): so for those the handler waits, up to 4.5 s, until the last StopSignals is gone, i.e. until the command
// that owned it has stopped what it runs (engines stopped, history and state file written) and is returning.
#include "signals.h"

#include <windows.h>

#include <deque>
#include <mutex>
#include <utility>
#include <vector>

namespace llmdesk::cli {
namespace {

struct Watchers {
  std::mutex mu;
  int next_id = 0;
  std::vector<std::pair<int, std::function<void(int)>>> list;
  int owners = 0;             // StopSignals alive: while there is one, a signal nobody watches is queued
  std::deque<int> pending;    // for StopSignals::Take()
  HANDLE pending_event = CreateEventW(nullptr, TRUE, FALSE, nullptr);  // set while `pending` is not empty
  HANDLE finished_event = CreateEventW(nullptr, TRUE, TRUE, nullptr);  // set while there is no StopSignals
};

// How long a close/logoff/shutdown handler waits for the command to finish: under the 5 s Windows allows.
constexpr DWORD kCloseGraceMs = 4500;

Watchers& TheWatchers() {
  static Watchers watchers;
  return watchers;
}

// Queues or delivers the signal; false when nobody listens (then Windows' default ends the process).
bool Deliver(Watchers& w, int sig) {
  std::lock_guard lock(w.mu);
  if (!w.list.empty()) {
    for (auto& [id, on_signal] : w.list) on_signal(sig);
    return true;
  }
  if (w.owners == 0) return false;
  if (w.pending.size() < 16) w.pending.push_back(sig);  // a burst of Ctrl+C is one stop, a second one a kill
  SetEvent(w.pending_event);
  return true;
}

BOOL WINAPI OnConsoleEvent(DWORD type) {
  auto& w = TheWatchers();
  if (!Deliver(w, type == CTRL_C_EVENT ? SIGINT : SIGTERM)) return FALSE;
  const bool process_ends_on_return =
      type == CTRL_CLOSE_EVENT || type == CTRL_LOGOFF_EVENT || type == CTRL_SHUTDOWN_EVENT;
  if (process_ends_on_return) WaitForSingleObject(w.finished_event, kCloseGraceMs);  // not under the lock
  return TRUE;
}

}  // namespace

StopSignals::StopSignals() {
  auto& w = TheWatchers();
  {
    std::lock_guard lock(w.mu);
    if (w.owners++ == 0) ResetEvent(w.finished_event);
  }
  SetConsoleCtrlHandler(OnConsoleEvent, TRUE);
}

StopSignals::~StopSignals() {
  SetConsoleCtrlHandler(OnConsoleEvent, FALSE);
  auto& w = TheWatchers();
  std::lock_guard lock(w.mu);
  if (--w.owners == 0) {
    w.pending.clear();
    ResetEvent(w.pending_event);
    SetEvent(w.finished_event);  // a close handler waiting for the command to finish returns now
  }
}

process::WaitHandle StopSignals::wait_handle() const { return TheWatchers().pending_event; }

int StopSignals::Take() {
  auto& w = TheWatchers();
  std::lock_guard lock(w.mu);
  if (w.pending.empty()) return 0;
  const int sig = w.pending.front();
  w.pending.pop_front();
  if (w.pending.empty()) ResetEvent(w.pending_event);
  return sig;
}

const char* StopSignals::Name(int sig) { return sig == SIGINT ? "Ctrl+C" : sig == SIGTERM ? "Ctrl+Break" : "a signal"; }

StopSignals::Watch::Watch(StopSignals&, std::function<void(int)> on_signal) {
  auto& w = TheWatchers();
  std::lock_guard lock(w.mu);
  id_ = ++w.next_id;
  w.list.emplace_back(id_, std::move(on_signal));
}

StopSignals::Watch::~Watch() {
  auto& w = TheWatchers();
  std::lock_guard lock(w.mu);
  std::erase_if(w.list, [this](const auto& entry) { return entry.first == id_; });
}

ReloadSignal::ReloadSignal() = default;
ReloadSignal::~ReloadSignal() = default;
process::WaitHandle ReloadSignal::wait_handle() const { return process::kNoWaitHandle; }
bool ReloadSignal::Take() { return false; }

}  // namespace llmdesk::cli
