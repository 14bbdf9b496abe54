// `models.NAME.rpc:` — the llama.cpp RPC workers a model is split over (issue 14).
#include <set>

#include "config/sections.h"
#include "rpc/rpc.h"

namespace llmdesk::config::detail {

void ParseRpcWorkers(YamlReader& r, const YAML::Node& node, const std::string& key, ModelConfig& m) {
  if (node.IsNull()) return;
  if (!node.IsSequence()) {
    r.Error(node, key, "expected a list of RPC workers (host:port), e.g. [192.168.1.20:50052, 192.168.1.21:50052]");
    return;
  }
  if (node.size() > rpc::kMaxWorkers) {
    r.Error(node, key, "expected at most " + std::to_string(rpc::kMaxWorkers) + " RPC workers (llama.cpp's limit), got " +
                           std::to_string(node.size()));
    return;
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string item_key = key + "[" + std::to_string(i) + "]";
    auto text = r.Expanded(node[i], item_key);
    if (!text) continue;  // Expanded reported it (not a scalar, unset variable)
    auto endpoint = rpc::ParseEndpoint(*text);
    if (!endpoint.ok()) {
      r.Error(node[i], item_key, endpoint.status().message() + ", got '" + Shown(*text) + "'");
      continue;
    }
    const std::string address = endpoint->ToString();
    if (!seen.insert(address).second) {
      r.Error(node[i], item_key, "RPC worker " + address + " is listed twice; list each worker once");
      continue;
    }
    m.rpc.push_back(address);
  }
}

void CheckRpcWorkers(YamlReader& r, const YAML::Node& node, const std::string& key, const ModelConfig& m) {
  if (!node["rpc"] || m.rpc.empty()) return;
  if (m.kind != ModelConfig::Kind::kLocal)
    r.Error(node["rpc"], key + ".rpc",
            "RPC workers are for a model llmdesk runs with llama-server (`model:` or `hf:`); remove `rpc:` from a "
            "`url:` or `command:` entry");
  for (const auto& arg : m.args)
    if (arg == "--rpc" || arg.rfind("--rpc=", 0) == 0)
      r.Error(node["args"], key + ".args",
              "--rpc is given both in args and as `rpc:`; list the workers once, in `rpc:` (llmdesk checks them "
              "and passes --rpc itself)");
}

}  // namespace llmdesk::config::detail
