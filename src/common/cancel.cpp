#include "common/cancel.h"

namespace llmdesk {

void CancelToken::Cancel() {
  std::lock_guard running(running_mu_);
  std::map<uint64_t, std::function<void()>> run;
  {
    std::lock_guard lock(mu_);
    if (cancelled_.exchange(true)) return;
    run.swap(callbacks_);
  }
  for (auto& [id, fn] : run) fn();
}

uint64_t CancelToken::OnCancel(std::function<void()> fn) const {
  {
    std::lock_guard lock(mu_);
    if (!cancelled_) {
      callbacks_.emplace(next_, std::move(fn));
      return next_++;
    }
  }
  fn();
  return 0;
}

void CancelToken::Forget(uint64_t id) const {
  {
    std::lock_guard lock(mu_);
    if (callbacks_.erase(id)) return;  // never ran, never will
  }
  // It may be running in Cancel() right now: wait for that to finish, so the caller may free what it uses.
  std::lock_guard running(running_mu_);
}

}  // namespace llmdesk
