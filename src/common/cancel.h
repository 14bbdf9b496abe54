// common/cancel.h — one cancellation signal shared by a piece of work and everything it started: a chat
// run, its model request (net::HttpClient wakes its transfer), its tool calls (MCP notifications/cancelled).
//
// Thread-safe. Cancel() is sticky. Callbacks registered with OnCancel run once, on the thread that calls
// Cancel() — or at once on the registering thread when the token is already cancelled (then OnCancel
// returns 0). They must be cheap and must not call back into the same token.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace llmdesk {

class CancelToken {
 public:
  void Cancel();
  bool cancelled() const { return cancelled_.load(); }
  // Returns an id for Forget(); 0 when the token was already cancelled (fn has run).
  // (const: whoever may watch a token may register; only its owner cancels.)
  uint64_t OnCancel(std::function<void()> fn) const;
  // Unregisters; after it returns the callback is not running and will not run.
  void Forget(uint64_t id) const;

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;          // guards next_, callbacks_
  mutable std::mutex running_mu_;  // held while Cancel() runs callbacks, so Forget() can wait for them
  mutable uint64_t next_ = 1;
  mutable std::map<uint64_t, std::function<void()>> callbacks_;
};

// RAII for OnCancel/Forget: `fn` runs if the token is cancelled while the watch lives (or at once if it
// already was); after the destructor it neither runs nor is running. A null token watches nothing.
class CancelWatch {
 public:
  CancelWatch(const CancelToken* token, std::function<void()> fn)
      : token_(token), id_(token ? token->OnCancel(std::move(fn)) : 0) {}
  ~CancelWatch() {
    if (token_ && id_) token_->Forget(id_);
  }
  CancelWatch(const CancelWatch&) = delete;
  CancelWatch& operator=(const CancelWatch&) = delete;

 private:
  const CancelToken* token_;
  uint64_t id_;
};

}  // namespace llmdesk
