#include "signals.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

namespace llmdesk::cli {

StopSignals::StopSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &previous_);
  fd_.reset(signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
}

StopSignals::~StopSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

int StopSignals::Take() {
  signalfd_siginfo info{};
  ssize_t n;
  do n = read(fd_.get(), &info, sizeof(info));
  while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof(info)) ? static_cast<int>(info.ssi_signo) : 0;
}

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

ReloadSignal::ReloadSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, &previous_);
  fd_.reset(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

ReloadSignal::~ReloadSignal() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

bool ReloadSignal::Take() {
  signalfd_siginfo info{};
  bool any = false;
  for (;;) {
    ssize_t n = read(fd_.get(), &info, sizeof(info));
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof(info))) return any;
    any = true;
  }
}

}  // namespace llmdesk::cli
