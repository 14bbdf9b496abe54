// signals.h on Windows: SetConsoleCtrlHandler. The handler is process-wide by nature (Windows calls a plain
// function), so the Watches it serves live in one function-local table.
#include "signals.h"

#include <windows.h>

#include <mutex>
#include <utility>
#include <vector>

namespace llmdesk::cli {
namespace {

struct Watchers {
  std::mutex mu;
  int next_id = 0;
  std::vector<std::pair<int, std::function<void(int)>>> list;
};

Watchers& TheWatchers() {
  static Watchers watchers;
  return watchers;
}

BOOL WINAPI OnConsoleEvent(DWORD type) {
  const int sig = type == CTRL_C_EVENT ? SIGINT : SIGTERM;
  auto& w = TheWatchers();
  std::lock_guard lock(w.mu);
  for (auto& [id, on_signal] : w.list) on_signal(sig);
  return w.list.empty() ? FALSE : TRUE;  // nobody watching: Windows' default (end the process)
}

}  // namespace

StopSignals::StopSignals() { SetConsoleCtrlHandler(OnConsoleEvent, TRUE); }

StopSignals::~StopSignals() { SetConsoleCtrlHandler(OnConsoleEvent, FALSE); }

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

}  // namespace llmdesk::cli
