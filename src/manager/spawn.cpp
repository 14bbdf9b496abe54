// The command line of a backend: argv only, never a shell.
#include "manager/spawn.h"

#include <algorithm>

#include "manager/placement.h"
#include "platform/user_dirs.h"

namespace llmdesk::manager {
namespace {

std::string Substitute(std::string text, const std::string& macro, const std::string& value) {
  for (size_t at = text.find(macro); at != std::string::npos; at = text.find(macro, at + value.size()))
    text.replace(at, macro.size(), value);
  return text;
}

std::string ExpandMacros(const std::string& arg, int port, const std::string& model) {
  return Substitute(Substitute(arg, "${PORT}", std::to_string(port)), "${MODEL}", model);
}

// Issue 14: `rpc:` workers -> one `--rpc host:port,host:port` (llama-server splits the layers over them).
void AppendRpcWorkers(const config::ModelConfig& model, std::vector<std::string>& argv) {
  if (model.rpc.empty()) return;
  std::string list;
  for (const auto& worker : model.rpc) list += (list.empty() ? "" : ",") + worker;
  argv.insert(argv.end(), {"--rpc", list});
}

}  // namespace

process::SpawnSpec BuildSpawnSpec(const config::ModelConfig& model, const std::filesystem::path& llama_server,
                                  int port, const std::string& owner_key) {
  process::SpawnSpec spec;
  spec.env = model.env;
  if (!owner_key.empty()) spec.env[kOwnerEnv] = owner_key;
  if (model.kind == config::ModelConfig::Kind::kCommand) {
    for (const auto& arg : model.command) spec.argv.push_back(ExpandMacros(arg, port, model.model));
    return spec;
  }
  spec.argv = {platform::PathToUtf8(llama_server), "-m", model.model, "--host", "127.0.0.1", "--port", std::to_string(port)};
  for (auto& arg : PlacementArgs(model)) spec.argv.push_back(std::move(arg));  // device:, gpu_layers:
  bool has_jinja_flag = false;
  bool has_verbosity_flag = false;
  for (const auto& arg : model.args) {
    spec.argv.push_back(ExpandMacros(arg, port, model.model));
    has_jinja_flag |= arg == "--jinja" || arg == "--no-jinja";
    has_verbosity_flag |= arg == "-lv" || arg == "--log-verbosity" || arg == "-v" || arg == "--verbose" ||
                          arg == "--log-disable";
  }
  if (!has_jinja_flag) spec.argv.push_back("--jinja");  // chat templates with tool calls need it
  // Where the model runs (status' placement: devices, "offloaded 5/5 layers to GPU", buffer sizes) is in
  // load lines llama-server prints only from verbosity 4; it adds ~30 log lines per request, not per token.
  if (!has_verbosity_flag) spec.argv.insert(spec.argv.end(), {"-lv", "4"});
  AppendRpcWorkers(model, spec.argv);
  return spec;
}

}  // namespace llmdesk::manager
