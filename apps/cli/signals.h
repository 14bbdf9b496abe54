// apps/cli/signals.h — SIGINT and SIGTERM for the long-running commands (up, serve, tool-server,
// mcp-stdio), with no code in a signal handler.
//
// StopSignals blocks both signals in the constructing thread — construct it first in a command, before
// any thread exists, so every later thread inherits the mask — and reads them from a signalfd: poll fd()
// with your own fds, or let a Watch call you on its own thread. The destructor restores the mask.
// Windows (signals_win32.cpp): a console control handler turns Ctrl+C into SIGINT and Ctrl+Break, closing the
// console, logoff and shutdown into SIGTERM, delivered to the Watches (on the thread Windows runs the handler
// on) or, while there is none, queued for Take() with wait_handle() (a manual-reset event) signalled; there is no
// fd(), and ReloadSignal never fires (`llmdesk config reload` goes through the control API on both systems).
// Main loops wait on wait_handle() with process/wait.h, the same code on both systems.
#pragma once

#include <signal.h>

#include <functional>
#include <memory>
#include <thread>

#ifndef _WIN32
#include "common/unique_fd.h"
#endif
#include "process/process.h"  // process::WaitHandle

namespace llmdesk::cli {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

#ifndef _WIN32
  int fd() const { return fd_.get(); }  // readable while a signal is pending
#endif
  process::WaitHandle wait_handle() const;  // ready while a signal is pending (POSIX: fd())
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
#ifdef _WIN32
    int id_ = 0;  // this Watch's entry in the console handler's list
#else
    UniqueFd wake_;  // eventfd: the destructor's "stop watching"
    std::thread thread_;
#endif
  };

 private:
#ifndef _WIN32
  sigset_t previous_{};
  UniqueFd fd_;
#endif
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

#ifndef _WIN32
  int fd() const { return fd_.get(); }  // readable while a SIGHUP is pending
#endif
  process::WaitHandle wait_handle() const;  // POSIX: fd(); Windows: kNoWaitHandle (never ready: no SIGHUP there)
  bool Take();                          // consumes the pending SIGHUP(s); false when none

 private:
#ifndef _WIN32
  sigset_t previous_{};
  UniqueFd fd_;
#endif
};

}  // namespace llmdesk::cli
