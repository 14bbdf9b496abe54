// The `mcp_servers:` and `chat:` sections of llm_backends.yaml (contract in config.h; shared helpers in
// sections.h). An mcp_servers entry has the shape of a Cursor / Claude Desktop mcp.json entry.
#include <string>
#include <vector>

#include "config/sections.h"

namespace llmdesk::config::detail {
namespace {

constexpr const char* kEntryShapes =
    "give `command:` (+ `args:`, `env:`) for a stdio server, or `url:` (+ `headers:`) for a Streamable HTTP server";

Approval ToApproval(const std::string& s) {
  return s == "ask" ? Approval::kAsk : s == "deny" ? Approval::kDeny : Approval::kAuto;
}

// `command:` is the program alone (as in mcp.json); its arguments go in `args:`.
void ParseMcpCommand(YamlReader& r, const YAML::Node& node, const std::string& key, McpServerConfig& s) {
  if (node.IsSequence()) {
    r.Error(node, key, "expected the program to run as a string, e.g. `command: npx`, got a list; put its arguments "
                       "in `args:`");
    return;
  }
  auto v = r.ExpandedPath(node, key);
  if (!v) return;
  if (v->find_first_not_of(" \t") == std::string::npos) {
    r.Error(node, key, "expected the program to run, e.g. `command: npx`, got an empty string");
    return;
  }
  s.command.push_back(*v);
}

}  // namespace

void ParseMcpServer(YamlReader& r, const std::string& name, const YAML::Node& key_node, const YAML::Node& node,
                    McpServerConfig& s) {
  const std::string key = "mcp_servers." + name;
  s.name = name;
  s.where = r.Loc(key_node);
  if (name == kOwnServerName) {  // the chat always has llmdesk's own tool server under this name
    r.Error(key_node, key, "the name 'llmdesk' is taken by llmdesk's own tool server (its tools are always offered); "
                           "give this server another name");
    return;
  }
  if (node.IsNull()) {
    r.Error(key_node, key, std::string("the entry is empty: ") + kEntryShapes);
    return;
  }
  if (!r.CheckMap(node, key, {"command", "args", "env", "url", "headers", "timeout_s", "connect_timeout_s"})) return;
  const bool has_command = static_cast<bool>(node["command"]), has_url = static_cast<bool>(node["url"]);
  if (has_command) ParseMcpCommand(r, node["command"], key + ".command", s);
  if (node["args"]) {
    auto args = r.ExpandedList(node["args"], key + ".args");  // each item a string (numbers are taken as text)
    if (args && !s.command.empty()) s.command.insert(s.command.end(), args->begin(), args->end());
  }
  if (node["env"]) s.env = r.ExpandedMap(node["env"], key + ".env").value_or(std::map<std::string, std::string>{});
  if (has_url) s.url = ParseUrl(r, node["url"], key + ".url", "url, e.g. http://127.0.0.1:9000/mcp").value_or("");
  if (node["headers"])
    s.headers = r.ExpandedMap(node["headers"], key + ".headers").value_or(std::map<std::string, std::string>{});
  if (node["timeout_s"]) s.timeout_s = r.Number(node["timeout_s"], key + ".timeout_s", 0.1, 3600);
  if (node["connect_timeout_s"])
    s.connect_timeout_s = r.Number(node["connect_timeout_s"], key + ".connect_timeout_s", 0.1, 600).value_or(10);

  if (has_command && has_url) {
    r.Error(key_node, key, "expected exactly one of `command:` (a stdio server) or `url:` (a Streamable HTTP server), "
                           "got both; keep one (two servers need two entries)");
  } else if (!has_command && !has_url) {
    r.Error(key_node, key, std::string("expected exactly one of `command:` or `url:`, got neither; ") + kEntryShapes);
  } else if (has_url) {
    for (const char* k : {"args", "env"})  // an empty one is harmless (`llmdesk config show` prints `env: {}`)
      if (node[k] && node[k].size() > 0) r.Error(node[k], key + "." + k, std::string("`") + k + ":` is for stdio servers (`command:`); this "
                                                   "entry has `url:`: remove it, or use `headers:` for HTTP");
  } else if (node["headers"] && node["headers"].size() > 0) {
    r.Error(node["headers"], key + ".headers", "`headers:` is for HTTP servers (`url:`); this entry has `command:`: "
                                               "remove it, or pass values to the program in `env:`");
  }
}

void ParseChat(YamlReader& r, const YAML::Node& node, ChatConfig& out) {
  if (!r.CheckMap(node, "chat", {"max_tool_steps", "tool_timeout_s", "approval", "tools"})) return;
  const std::vector<std::string> approvals = {"auto", "ask", "deny"};
  if (node["max_tool_steps"]) out.max_tool_steps = r.Int(node["max_tool_steps"], "chat.max_tool_steps", 1, 100).value_or(8);
  if (node["tool_timeout_s"])
    out.tool_timeout_s = r.Number(node["tool_timeout_s"], "chat.tool_timeout_s", 0.1, 3600).value_or(60);
  if (node["approval"]) {
    if (auto v = r.Choice(node["approval"], "chat.approval", approvals)) out.approval = ToApproval(*v);
  }
  if (!node["tools"] || !r.IsMap(node["tools"], "chat.tools")) return;
  for (const auto& kv : node["tools"]) {
    const std::string name = kv.first.Scalar();
    const std::string key = "chat.tools." + Shown(name);
    const YAML::Node& v = kv.second;
    if (v.IsScalar()) {  // the short form: `calculator: ask`
      if (auto a = r.Choice(v, key, approvals)) out.tool_approval.emplace(name, ToApproval(*a));
      continue;
    }
    if (!v.IsMap()) {
      r.Error(v, key, "expected auto, ask or deny, or a map like {approval: ask, timeout_s: 30}");
      continue;
    }
    if (!r.CheckMap(v, key, {"approval", "timeout_s"})) continue;
    if (v["approval"]) {
      if (auto a = r.Choice(v["approval"], key + ".approval", approvals)) out.tool_approval.emplace(name, ToApproval(*a));
    }
    if (v["timeout_s"]) {
      if (auto t = r.Number(v["timeout_s"], key + ".timeout_s", 0.1, 3600)) out.tool_timeouts_s.emplace(name, *t);
    }
  }
}

}  // namespace llmdesk::config::detail
