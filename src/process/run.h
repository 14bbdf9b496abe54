// process/run.h — run a short-lived command to completion and capture its output.
// For things like `llama-server --version`: argv only (never a shell), bounded output,
// bounded time (the child's process group is killed on timeout), no threads.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace llmdesk::process {

struct RunOutput {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout and stderr interleaved, truncated to max_output bytes
};

Result<RunOutput> RunCapture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                             size_t max_output = 64 * 1024);

}  // namespace llmdesk::process
