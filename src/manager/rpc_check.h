// manager/rpc_check.h — one background check of a backend's RPC workers (private to src/manager).
// Each worker gets the HELLO handshake (rpc/rpc.h) on its own thread, so a remote worker that does not
// answer costs its timeouts there and never the supervisor loop. `done` runs on the check's thread
// once every worker has an answer (the owner posts it to its own thread).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "manager/manager.h"

namespace llmdesk::manager {

class RpcWorkerCheck {
 public:
  using Done = std::function<void(std::vector<RpcWorkerStatus>)>;
  RpcWorkerCheck(std::vector<std::string> addresses, Done done);
  ~RpcWorkerCheck();  // joins: at most the check's timeouts (connect 3 s + answer 3 s)
  RpcWorkerCheck(const RpcWorkerCheck&) = delete;
  RpcWorkerCheck& operator=(const RpcWorkerCheck&) = delete;
  bool finished() const { return finished_; }  // joining it now does not wait

 private:
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

}  // namespace llmdesk::manager
