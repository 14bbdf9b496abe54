// manager/placement.h — where a model runs, read from llama-server's log, and the arguments that ask for it
// (private to src/manager; pure functions). Lines are engine output of any length: linear scans, no regex.
//
// llama-server prints while loading (llama.cpp v0.4.0):
//   llama_model_load_from_file_impl: using device Vulkan0 (llvmpipe ...) (...) - 7936 MiB free
//   load_tensors: offloaded 5/5 layers to GPU
//   load_tensors:      Vulkan0 model buffer size =    36.10 MiB
//   llama_kv_cache:    Vulkan0 KV buffer size =     4.00 MiB
//   llama_context:     Vulkan0 compute buffer size =    70.50 MiB
// Buffers named CPU*, *_Host (pinned host memory) and the like are not device memory.
#pragma once

#include <string_view>
#include <vector>

#include "config/config.h"
#include "manager/manager.h"

namespace llmdesk::manager {

// Folds one log line into `p`; true when `p` changed. `model` says what was asked for (device:,
// gpu_layers:), which decides whether running on the CPU deserves the one-line note.
bool UpdatePlacement(Placement& p, std::string_view line, const config::ModelConfig& model);

// llama-server arguments for model.device / model.gpu_layers: -dev NAME|none, -ngl N|all (nothing for the
// defaults: the engine's own choice, -ngl auto).
std::vector<std::string> PlacementArgs(const config::ModelConfig& model);

}  // namespace llmdesk::manager
