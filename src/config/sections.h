// config/sections.h — internal: parsers of single config sections shared between the loader's files
// (config_loader.cpp: the file and most sections; config_mcp.cpp: `mcp_servers:` and `chat:`).
#pragma once

#include <optional>
#include <string>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace llmdesk::config::detail {

// An http:// or https:// URL of bounded length; `what` completes "expected an http:// or https:// ...".
std::optional<std::string> ParseUrl(YamlReader& r, const YAML::Node& node, const std::string& key, const char* what);

// One `mcp_servers.NAME` entry (`key_node` is NAME's node, where entry-level errors point).
void ParseMcpServer(YamlReader& r, const std::string& name, const YAML::Node& key_node, const YAML::Node& node,
                    McpServerConfig& out);
void ParseChat(YamlReader& r, const YAML::Node& node, ChatConfig& out);

// `models.NAME.rpc: [host:port, ...]` (config_rpc.cpp), and the checks that need the whole entry
// (rpc is for a spawned llama-server only; --rpc belongs in rpc:, not in args).
void ParseRpcWorkers(YamlReader& r, const YAML::Node& node, const std::string& key, ModelConfig& m);
void CheckRpcWorkers(YamlReader& r, const YAML::Node& node, const std::string& key, const ModelConfig& m);

}  // namespace llmdesk::config::detail
