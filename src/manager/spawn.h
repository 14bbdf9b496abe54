// manager/spawn.h — the command line of a backend: argv only, never a shell (private to src/manager).
#pragma once

#include <filesystem>

#include "config/config.h"
#include "process/process.h"

namespace llmdesk::manager {

// The environment variable every engine we spawn carries (value: the manager's config KEY). Its
// children inherit it, which is how a later manager recognises an engine group as ours.
inline constexpr const char* kOwnerEnv = "LLMDESK_ENGINE_OWNER";

// kLocal: llama-server -m MODEL --host 127.0.0.1 --port PORT [-dev D] [-ngl N] ARGS [--jinja] [-lv 4] [--rpc A,B]; kCommand: command with
// ${PORT} and ${MODEL} substituted. model.env is added to the environment, then kOwnerEnv=owner_key.
process::SpawnSpec BuildSpawnSpec(const config::ModelConfig& model, const std::filesystem::path& llama_server,
                                  int port, const std::string& owner_key = {});

}  // namespace llmdesk::manager
