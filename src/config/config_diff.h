// config/config_diff.h — what changed between the configuration a stack runs and a newly loaded one (a reload:
// `llmdesk config reload`, SIGHUP, POST /api/config/reload).
//
// Pure functions over two Configs: no I/O, no threads. Values are compared as loaded (tokens and keys too, never
// printed: a changed secret is named, its value is not). Locations (line/column) never count as a change.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace llmdesk::config {

// Whether two entries of `models:` would run the same server: kind, file (or `hf:` ref), url, api key, command,
// port, args, env, ttl, autostart, timeouts. A `model:` path is ignored when both have the same `hf:` ref (a
// front end fills it in before a start), and so is the label (not a YAML key).
bool SameModelSettings(const ModelConfig& a, const ModelConfig& b);

struct ConfigDiff {
  std::vector<std::string> added_models, removed_models, changed_models, unchanged_models;  // by name, file order
  // Settings a running stack applies at once: engine, ports, models.hub_url (for the next backend start).
  std::vector<std::string> live_settings;    // "ports.range: 10500-10999 -> 10600-10699"
  // Settings only a restart of the stack applies: its listeners (gateway.*, tool_server.*), the MCP host's
  // servers (mcp_servers) and the chat settings (chat.*).
  std::vector<std::string> needs_restart;    // "gateway.port: 8760 -> 8761"
};
ConfigDiff Diff(const Config& running, const Config& next);

}  // namespace llmdesk::config
