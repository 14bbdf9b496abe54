// CheckWorker on Windows: not ported yet (worker_check.cpp is BSD sockets and poll; docs/WINDOWS.md). The
// outcome says so, so a model with `rpc:` workers fails to start on Windows with this reason instead of
// starting an engine whose workers were never checked.
#include "rpc/rpc.h"

namespace llmdesk::rpc {

WorkerCheck CheckWorker(const Endpoint& worker, std::chrono::milliseconds, std::chrono::milliseconds) {
  return {WorkerState::kUnreachable, "not checked: llmdesk on Windows does not check RPC workers yet (" +
                                         worker.ToString() + "); use RPC workers from Linux for now"};
}

}  // namespace llmdesk::rpc
