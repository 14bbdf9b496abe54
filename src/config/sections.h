// config/sections.h — internal: parsers of single config sections shared between the loader's files
// (config_loader.cpp: the file and most sections; config_mcp.cpp: `mcp_servers:` and `chat:`).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace llmdesk::config::detail {

// An http:// or https:// URL of bounded length; `what` completes "expected an http:// or https:// ...".
std::optional<std::string> ParseUrl(YamlReader& r, const YAML::Node& node, const std::string& key, const char* what);

// One `mcp_servers.NAME` entry (`key_node` is NAME's node, where entry-level errors point).
void ParseMcpServer(YamlReader& r, const std::string& name, const YAML::Node& key_node, const YAML::Node& node,
                    McpServerConfig& out);
void ParseChat(YamlReader& r, const YAML::Node& node, ChatConfig& out);

// A model entry's placement keys, `device:` and `gpu_layers:` (config_placement.cpp). Whether the device
// exists is not known here (it takes the engine): `config check` asks engine::CheckModelDevices.
inline const std::vector<std::string> kPlacementKeys = {"device", "gpu_layers"};
void ParseModelPlacement(YamlReader& r, const YAML::Node& node, const std::string& key, ModelConfig& out);
// `models.NAME.rpc: [host:port, ...]` (config_rpc.cpp), and the checks that need the whole entry
// (rpc is for a spawned llama-server only; --rpc belongs in rpc:, not in args).
void ParseRpcWorkers(YamlReader& r, const YAML::Node& node, const std::string& key, ModelConfig& m);
void CheckRpcWorkers(YamlReader& r, const YAML::Node& node, const std::string& key, const ModelConfig& m);

}  // namespace llmdesk::config::detail
