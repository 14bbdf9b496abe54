// apps/cli/signals.h — SIGINT and SIGTERM for the long-running commands (up, serve, tool-server,
// mcp-stdio), with no code in a signal handler.
//
// StopSignals blocks both signals in the constructing thread — construct it first in a command, before
// any thread exists, so every later thread inherits the mask — and reads them from a signalfd: poll fd()
// with your own fds, or let a Watch call you on its own thread. The destructor restores the mask.
#pragma once

#include <signal.h>

#include <functional>
#include <thread>

#include "common/unique_fd.h"

namespace llmdesk::cli {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  int fd() const { return fd_.get(); }  // readable while a signal is pending
  int Take();                           // consumes one pending signal: its number, or 0 when none
  static const char* Name(int sig);     // "SIGINT" / "SIGTERM"

  // Calls on_signal(sig) on a helper thread for every signal until the Watch is destroyed (which wakes
  // and joins the thread). on_signal must not block.
  class Watch {
   public:
    Watch(StopSignals& signals, std::function<void(int)> on_signal);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

   private:
    UniqueFd wake_;  // eventfd: the destructor's "stop watching"
    std::thread thread_;
  };

 private:
  sigset_t previous_{};
  UniqueFd fd_;
};

// SIGHUP for `up` and `serve`: "re-read the config" (what a systemd unit's ExecReload sends). Blocked in the
// constructing thread like StopSignals (construct it before any thread exists) and read from its own signalfd, so
// a reload never mixes with a stop.
class ReloadSignal {
 public:
  ReloadSignal();
  ~ReloadSignal();
  ReloadSignal(const ReloadSignal&) = delete;
  ReloadSignal& operator=(const ReloadSignal&) = delete;

  int fd() const { return fd_.get(); }  // readable while a SIGHUP is pending
  bool Take();                          // consumes the pending SIGHUP(s); false when none

 private:
  sigset_t previous_{};
  UniqueFd fd_;
};

}  // namespace llmdesk::cli
