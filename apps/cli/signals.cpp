#include "signals.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>

namespace llmdesk::cli {
namespace {

// Blocks `signals` in the calling thread (the old mask goes to `previous`) and opens a signalfd for them.
UniqueFd BlockIntoSignalFd(std::initializer_list<int> signals, sigset_t& previous) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : signals) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, &previous);
  return UniqueFd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

// One pending signal from a non-blocking signalfd: its number, or 0 when none is pending.
int ReadSignal(int fd) {
  signalfd_siginfo info{};
  ssize_t n;
  do n = read(fd, &info, sizeof(info));
  while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof(info)) ? static_cast<int>(info.ssi_signo) : 0;
}

}  // namespace

StopSignals::StopSignals() : fd_(BlockIntoSignalFd({SIGINT, SIGTERM}, previous_)) {}

StopSignals::~StopSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

int StopSignals::Take() { return ReadSignal(fd_.get()); }
process::WaitHandle StopSignals::wait_handle() const { return fd(); }

const char* StopSignals::Name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal"; }

StopSignals::Watch::Watch(StopSignals& signals, std::function<void(int)> on_signal)
    : wake_(eventfd(0, EFD_CLOEXEC)) {
  thread_ = std::thread([this, &signals, on_signal = std::move(on_signal)] {
    for (;;) {
      pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) return;
      if (int sig = signals.Take()) on_signal(sig);
    }
  });
}

StopSignals::Watch::~Watch() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_.get(), &one, sizeof(one));
  thread_.join();
}

ReloadSignal::ReloadSignal() : fd_(BlockIntoSignalFd({SIGHUP}, previous_)) {}

ReloadSignal::~ReloadSignal() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
process::WaitHandle ReloadSignal::wait_handle() const { return fd(); }

bool ReloadSignal::Take() {
  bool any = false;
  while (ReadSignal(fd_.get()) != 0) any = true;  // several SIGHUPs before we looked: one reload
  return any;
}

}  // namespace llmdesk::cli
