// config/config_diff.cpp — see config_diff.h.
#include "config/config_diff.h"

#include <algorithm>
#include <tuple>
#include <type_traits>

namespace llmdesk::config {
namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return "[" + out + "]";
}

// "key: old -> new" when they differ; secrets (`secret`) are named without their values.
template <typename T>
void Compare(std::vector<std::string>& out, const std::string& key, const T& a, const T& b, bool secret = false) {
  if (a == b) return;
  if (secret) return out.push_back(key + " changed");
  if constexpr (std::is_same_v<T, std::string>) out.push_back(key + ": " + a + " -> " + b);
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) out.push_back(key + ": " + Join(a) + " -> " + Join(b));
  else if constexpr (std::is_arithmetic_v<T>) out.push_back(key + ": " + std::to_string(a) + " -> " + std::to_string(b));
  else out.push_back(key + " changed");
}

void CompareListener(std::vector<std::string>& out, const std::string& section, const ListenerConfig& a,
                     const ListenerConfig& b) {
  Compare(out, section + ".host", a.host, b.host);
  Compare(out, section + ".port", a.port, b.port);
  Compare(out, section + ".token", a.token, b.token, /*secret=*/true);
}

auto McpFields(const McpServerConfig& s) {
  return std::tie(s.command, s.env, s.url, s.headers, s.timeout_s, s.connect_timeout_s);
}

bool SameChat(const ChatConfig& a, const ChatConfig& b) {
  return std::tie(a.max_tool_steps, a.tool_timeout_s, a.approval, a.tool_approval, a.tool_timeouts_s) ==
         std::tie(b.max_tool_steps, b.tool_timeout_s, b.approval, b.tool_approval, b.tool_timeouts_s);
}

}  // namespace

bool SameModelSettings(const ModelConfig& a, const ModelConfig& b) {
  const bool same_file = !a.hf.empty() && a.hf == b.hf ? true : a.model == b.model;
  return same_file && std::tie(a.kind, a.hf, a.url, a.api_key, a.command, a.port, a.args, a.env, a.ttl_s, a.autostart,
                               a.startup_timeout_s, a.stop_grace_s, a.rpc, a.device, a.gpu_layers) ==
                          std::tie(b.kind, b.hf, b.url, b.api_key, b.command, b.port, b.args, b.env, b.ttl_s,
                                   b.autostart, b.startup_timeout_s, b.stop_grace_s, b.rpc, b.device, b.gpu_layers);
}

ConfigDiff Diff(const Config& running, const Config& next) {
  ConfigDiff d;
  for (const auto& m : next.models) {
    const ModelConfig* old = running.FindModel(m.name);
    if (!old) d.added_models.push_back(m.name);
    else if (SameModelSettings(*old, m)) d.unchanged_models.push_back(m.name);
    else d.changed_models.push_back(m.name);
  }
  for (const auto& m : running.models)
    if (!next.FindModel(m.name)) d.removed_models.push_back(m.name);

  Compare(d.live_settings, "engine.llama_server", running.engine.llama_server, next.engine.llama_server);
  Compare(d.live_settings, "ports.on_conflict", std::string(ToString(running.ports.on_conflict)),
          std::string(ToString(next.ports.on_conflict)));
  Compare(d.live_settings, "ports.range",
          std::to_string(running.ports.range_first) + "-" + std::to_string(running.ports.range_last),
          std::to_string(next.ports.range_first) + "-" + std::to_string(next.ports.range_last));
  Compare(d.live_settings, "models.hub_url", running.hub.url, next.hub.url);

  CompareListener(d.needs_restart, "gateway", running.gateway, next.gateway);
  Compare(d.needs_restart, "gateway.max_loaded", running.gateway.max_loaded, next.gateway.max_loaded);
  Compare(d.needs_restart, "gateway.queue", running.gateway.queue, next.gateway.queue);
  CompareListener(d.needs_restart, "tool_server", running.tool_server, next.tool_server);
  Compare(d.needs_restart, "tool_server.tools", running.tool_server.tools, next.tool_server.tools);
  for (const auto& s : next.mcp_servers) {
    auto old = std::find_if(running.mcp_servers.begin(), running.mcp_servers.end(),
                            [&](const McpServerConfig& o) { return o.name == s.name; });
    if (old == running.mcp_servers.end()) d.needs_restart.push_back("mcp_servers." + s.name + " added");
    else if (McpFields(*old) != McpFields(s)) d.needs_restart.push_back("mcp_servers." + s.name + " changed");
  }
  for (const auto& s : running.mcp_servers) {
    if (std::none_of(next.mcp_servers.begin(), next.mcp_servers.end(),
                     [&](const McpServerConfig& n) { return n.name == s.name; }))
      d.needs_restart.push_back("mcp_servers." + s.name + " removed");
  }
  if (!SameChat(running.chat, next.chat)) d.needs_restart.push_back("chat settings changed");
  return d;
}

}  // namespace llmdesk::config
