// Parses llm_backends.yaml into Config, collecting every problem as a Diagnostic.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "common/text.h"
#include "config/config.h"
#include "config/sections.h"
#include "config/yaml_reader.h"
#include "net/http_policy.h"
#include "platform/user_dirs.h"

namespace llmdesk::config {
namespace {

using detail::ParseChat;
using detail::ParseMcpServer;
using detail::ParseUrl;
using detail::Shown;
using detail::YamlReader;
constexpr size_t kMaxConfigBytes = 4 * 1024 * 1024;
// Natural bounds of single values: no real one comes near them, and each check stays cheap.
constexpr size_t kMaxHostBytes = 253;    // the longest DNS name
constexpr size_t kMaxTokenBytes = 4096;  // it travels in one HTTP header line
constexpr size_t kMaxUrlBytes = 8192;    // what common HTTP servers accept in a request line
constexpr size_t kMaxHfBytes = 256;      // Hugging Face caps owner and repo names at 96 characters each
constexpr size_t kMaxRangeBytes = 32;
constexpr size_t kMaxNameBytes = 64;

// Hand-rolled checks instead of std::regex: libstdc++'s regex recurses once per character and
// overflows the stack on long input. Each of these is one bounded pass.
bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':';
}

// [A-Za-z0-9][A-Za-z0-9_.:-]{0,63}
bool IsValidEntryName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameBytes && std::isalnum(static_cast<unsigned char>(name[0])) &&
         std::all_of(name.begin(), name.end(), IsNameChar);
}

// [A-Za-z0-9_.-]+
bool IsHfWord(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

// owner/repo or owner/repo:QUANT
bool IsValidHfId(std::string_view id) {
  size_t slash = id.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view repo = id.substr(slash + 1), quant;
  if (size_t colon = repo.find(':'); colon != std::string_view::npos) {
    quant = repo.substr(colon + 1);
    repo = repo.substr(0, colon);
    if (!IsHfWord(quant)) return false;
  }
  return IsHfWord(id.substr(0, slash)) && IsHfWord(repo);
}

// An IP literal or a DNS name: letters, digits, '.', '-', ':' and the brackets of "[::1]".
bool IsValidHost(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
  });
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "FIRST-LAST" (spaces allowed around each number); numbers of 1 to 5 digits.
std::optional<std::pair<int, int>> ParsePortRange(std::string_view text) {
  auto number = [](std::string_view s) -> std::optional<int> {
    s = TrimSpaces(s);
    if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    int value = 0;
    std::from_chars(s.data(), s.data() + s.size(), value);
    return value;
  };
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto first = number(text.substr(0, dash)), last = number(text.substr(dash + 1));
  if (!first || !last) return std::nullopt;
  return std::pair(*first, *last);
}

bool TooLong(YamlReader& r, const YAML::Node& node, const std::string& key, const std::string& value, size_t max,
             const char* why) {
  if (value.size() <= max) return false;
  r.Error(node, key, "expected at most " + std::to_string(max) + " bytes (" + why + "), got " +
                         std::to_string(value.size()));
  return true;
}

void ParseEngine(YamlReader& r, const YAML::Node& node, EngineConfig& out) {
  if (!r.CheckMap(node, "engine", {"llama_server"})) return;
  if (node["llama_server"]) {
    if (auto v = r.ExpandedPath(node["llama_server"], "engine.llama_server")) {
      if (*v != "auto" && (v->empty() || (*v)[0] != '/'))
        r.Error(node["llama_server"], "engine.llama_server", "expected 'auto' or an absolute path, got '" + Shown(*v) + "'");
      else
        out.llama_server = *v;
    }
  }
}

void ParseListener(YamlReader& r, const YAML::Node& node, const std::string& key, ListenerConfig& out,
                   std::vector<std::string> allowed) {
  allowed.insert(allowed.end(), {"host", "port", "token"});
  out.where = r.Loc(node);
  if (!r.CheckMap(node, key, allowed)) return;
  bool host_ok = true;
  if (node["host"]) {
    auto v = r.String(node["host"], key + ".host", kMaxHostBytes);
    if (v && !IsValidHost(*v)) {
      r.Error(node["host"], key + ".host", "expected an IP address or a host name, e.g. 127.0.0.1, got '" + Shown(*v) + "'");
      v.reset();
    }
    if (v) out.host = *v;
    host_ok = v.has_value();
  }
  if (node["port"]) {
    if (auto v = r.Int(node["port"], key + ".port", 1, 65535)) out.port = *v, out.where = r.Loc(node["port"]);
  }
  bool token_ok = true;
  if (node["token"] && !node["token"].IsNull()) {
    auto v = r.Expanded(node["token"], key + ".token");
    if (v && TooLong(r, node["token"], key + ".token", *v, kMaxTokenBytes, "it travels in an HTTP header")) v.reset();
    if (v && !v->empty()) out.token = *v;
    token_ok = v.has_value();
  }
  // Without a token, loopback is the only protection: anyone who can reach another address could
  // run tools and models on this machine.
  if (host_ok && token_ok && !out.token && !net::IsLoopbackAddress(out.host))
    r.Error(node["host"], key + ".host",
            "'" + out.host + "' is not a loopback address and no token is set: anyone who can reach this machine "
            "could use it; set " + key + ".token (e.g. token: ${LLMDESK_TOKEN}) or bind 127.0.0.1");
}

// What is wrong with a gateway.cors_origins entry, or nullopt: browsers send `scheme://host[:port]`, lowercase,
// without a path, and the entry is compared with that text exactly.
std::optional<std::string> OriginProblem(std::string_view origin) {
  if (origin == "*" || origin == "null")
    return "it would let any web page use the gateway; name each origin, e.g. https://app.example";
  const size_t sep = origin.find("://");
  if (sep == std::string_view::npos || sep == 0) return "expected scheme://host[:port], e.g. https://app.example:8443";
  const std::string_view scheme = origin.substr(0, sep), rest = origin.substr(sep + 3);
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (char c : scheme)
    if (!lower_alnum(c) && c != '+' && c != '-' && c != '.') return "the scheme must be lowercase letters, e.g. https";
  if (rest.empty()) return "no host after '" + std::string(scheme) + "://'";
  if (rest.find('/') != std::string_view::npos) return "an origin has no path and no trailing '/' (browsers send none)";
  for (char c : rest)
    if (!lower_alnum(c) && c != '.' && c != '-' && c != ':' && c != '[' && c != ']')
      return "the host must be lowercase (browsers send it so), with an optional :port";
  return std::nullopt;
}

// gateway: the listener keys plus the gateway's own (max_loaded, queue, cors_origins).
void ParseGateway(YamlReader& r, const YAML::Node& node, GatewayConfig& out) {
  ParseListener(r, node, "gateway", out, {"max_loaded", "queue", "cors_origins"});
  if (!node.IsMap()) return;
  if (node["max_loaded"]) out.max_loaded = r.Int(node["max_loaded"], "gateway.max_loaded", 0, 1000).value_or(0);
  if (node["queue"]) out.queue = r.Int(node["queue"], "gateway.queue", 1, 100000).value_or(64);
  if (!node["cors_origins"]) return;
  auto origins = r.ExpandedList(node["cors_origins"], "gateway.cors_origins");
  if (!origins) return;
  for (size_t i = 0; i < origins->size(); ++i) {
    const std::string& origin = (*origins)[i];
    if (auto problem = OriginProblem(origin))
      r.Error(node["cors_origins"][i], "gateway.cors_origins", "'" + Shown(origin) + "': " + *problem);
    else if (std::find(out.cors_origins.begin(), out.cors_origins.end(), origin) != out.cors_origins.end())
      r.Error(node["cors_origins"][i], "gateway.cors_origins",
              "'" + Shown(origin) + "' is listed twice (after ${...} expansion); list each origin once");
    else
      out.cors_origins.push_back(origin);
  }
}

void ParseToolServer(YamlReader& r, const YAML::Node& node, ToolServerConfig& out) {
  ParseListener(r, node, "tool_server", out, {"tools"});
  if (!node.IsMap() || !node["tools"]) return;
  auto tools = r.ExpandedList(node["tools"], "tool_server.tools");
  if (!tools) return;
  out.tools.clear();
  for (size_t i = 0; i < tools->size(); ++i) {
    const std::string& name = (*tools)[i];
    const auto& known = tools::BuiltinToolNames();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      auto hint = ClosestMatch(name, known);
      r.Error(node["tools"][i], "tool_server.tools", "unknown tool '" + Shown(name) + "'" +
              (hint ? "; did you mean '" + *hint + "'?" : "") + " (known: calculator, get_weather, get_time, convert_units)");
    } else {
      out.tools.push_back(name);
    }
  }
}

void ParsePorts(YamlReader& r, const YAML::Node& node, PortsConfig& out) {
  if (!r.CheckMap(node, "ports", {"on_conflict", "range"})) return;
  if (node["on_conflict"]) {
    if (auto v = r.Choice(node["on_conflict"], "ports.on_conflict", {"fallback", "fail"}))
      out.on_conflict = *v == "fail" ? OnConflict::kFail : OnConflict::kFallback;
  }
  if (node["range"]) {
    auto text = r.String(node["range"], "ports.range", kMaxRangeBytes);
    if (!text) return;
    if (auto range = ParsePortRange(*text)) {
      auto [first, last] = *range;
      if (first >= 1 && last <= 65535 && first <= last) {
        out.range_first = first, out.range_last = last;
        return;
      }
    }
    r.Error(node["range"], "ports.range", "expected FIRST-LAST with 1 <= FIRST <= LAST <= 65535, e.g. 10500-10999, got '" + *text + "'");
  }
}

void ParseModel(YamlReader& r, const std::string& name, const YAML::Node& key_node, const YAML::Node& node,
                ModelConfig& m) {
  const std::string key = "models." + name;
  m.name = name;
  m.where = r.Loc(key_node);
  if (node.IsNull()) return;  // `default:` with nothing: a placeholder, rejected at start
  std::vector<std::string> keys = {"model", "hf", "url", "command", "port", "args", "env", "ttl", "autostart",
                                   "startup_timeout", "stop_grace", "api_key", "rpc"};
  keys.insert(keys.end(), detail::kPlacementKeys.begin(), detail::kPlacementKeys.end());
  if (!r.CheckMap(node, key, keys)) return;
  auto get = [&](const char* k) { return node[k]; };
  if (get("model")) m.model = r.ExpandedPath(get("model"), key + ".model").value_or("");
  if (get("hf")) {
    auto v = r.String(get("hf"), key + ".hf", kMaxHfBytes);
    if (v && !IsValidHfId(*v))
      r.Error(get("hf"), key + ".hf", "expected owner/repo or owner/repo:QUANT, e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M");
    else if (v)
      m.hf = *v;
  }
  if (get("url")) {
    if (auto v = ParseUrl(r, get("url"), key + ".url", "base url, e.g. http://gpu-box:8000/v1"))
      m.url = *v, m.kind = ModelConfig::Kind::kRemote;
  }
  if (get("api_key") && !get("api_key").IsNull()) {  // a remote server's key: api_key: ${OPENAI_API_KEY}
    auto v = r.Expanded(get("api_key"), key + ".api_key");
    if (v && !TooLong(r, get("api_key"), key + ".api_key", *v, kMaxTokenBytes, "it travels in an HTTP header")) m.api_key = *v;
  }
  if (get("command")) {
    const YAML::Node& c = get("command");
    std::optional<std::vector<std::string>> argv;
    if (c.IsScalar()) {  // "server --port ${PORT}": split on spaces, still never run through a shell
      if (auto text = r.Expanded(c, key + ".command")) {
        std::istringstream words(*text);
        argv.emplace(std::istream_iterator<std::string>(words), std::istream_iterator<std::string>());
      }
    } else {
      argv = r.ExpandedList(c, key + ".command");
    }
    if (argv && argv->empty()) r.Error(c, key + ".command", "expected a command to run, got an empty one");
    else if (argv) m.command = *argv, m.kind = ModelConfig::Kind::kCommand;
  }
  if (get("port")) {
    m.port = r.Int(get("port"), key + ".port", 1, 65535).value_or(0);
    m.port_where = r.Loc(get("port"));
  }
  if (get("args")) m.args = r.ExpandedList(get("args"), key + ".args").value_or(std::vector<std::string>{});
  if (get("env")) m.env = r.ExpandedMap(get("env"), key + ".env").value_or(std::map<std::string, std::string>{});
  if (get("ttl")) m.ttl_s = r.Int(get("ttl"), key + ".ttl", 0, 365 * 24 * 3600).value_or(0);
  if (get("autostart")) m.autostart = r.Bool(get("autostart"), key + ".autostart").value_or(false);
  if (get("startup_timeout"))
    m.startup_timeout_s = r.Number(get("startup_timeout"), key + ".startup_timeout", 0.1, 86400).value_or(300);
  if (get("stop_grace")) m.stop_grace_s = r.Number(get("stop_grace"), key + ".stop_grace", 0, 3600).value_or(10);
  detail::ParseModelPlacement(r, node, key, m);
  if (get("rpc")) detail::ParseRpcWorkers(r, get("rpc"), key + ".rpc", m);

  int sources = !m.model.empty() + !m.hf.empty() + !m.url.empty();
  if (!m.api_key.empty() && m.url.empty())
    r.Error(get("api_key"), key + ".api_key", "api_key is for a `url:` (remote) server; a spawned model needs none");
  if (!m.url.empty() && (sources > 1 || !m.command.empty() || !m.args.empty()))
    r.Error(key_node, key, "a `url:` entry is an already running server: remove model/hf/command/args from it");
  else if (!m.model.empty() && !m.hf.empty())
    r.Error(key_node, key, "give either `model:` (a local GGUF file) or `hf:` (a Hugging Face repo), not both");
  std::error_code ec;  // the path is the user's: never the throwing overloads
  // PathFromUtf8: the YAML text is UTF-8, which Windows' narrow path constructor would read as the ANSI code page.
  if (!m.model.empty() && m.kind != ModelConfig::Kind::kRemote &&
      !std::filesystem::exists(platform::PathFromUtf8(m.model), ec))
    r.Warn(get("model"), key + ".model", "file '" + m.model + "' does not exist yet; starting this model will fail until it does");
  detail::CheckRpcWorkers(r, node, key, m);
}

// Two listeners on one port can never both start: name both places.
void CheckDuplicatePorts(YamlReader& r, const Config& c) {
  struct Use { std::string key; Location where; };
  std::map<int, Use> used;
  auto claim = [&](int port, const std::string& key, const Location& where) {
    if (port == 0) return;
    auto [it, fresh] = used.emplace(port, Use{key, where});
    if (!fresh)
      r.Error(where, key, "port " + std::to_string(port) + " is already used by " + it->second.key + " (" +
                              it->second.where.ToString() + "); give each entry its own port");
  };
  claim(c.gateway.port, "gateway.port", c.gateway.where);
  claim(c.tool_server.port, "tool_server.port", c.tool_server.where);
  for (const auto& m : c.models) {
    if (m.kind != ModelConfig::Kind::kRemote) claim(m.port, "models." + m.name + ".port", m.port_where);
  }
}

// models.hub_url: the hub's base URL, kept among the model entries as the issue names it.
constexpr const char* kHubUrlKey = "hub_url";

void ParseHubUrl(YamlReader& r, const YAML::Node& models, HubConfig& out) {
  if (!models.IsMap() || !models[kHubUrlKey]) return;
  const YAML::Node& node = models[kHubUrlKey];
  if (!node.IsScalar()) {
    r.Error(node, "models.hub_url", "expected the hub's base URL, e.g. https://huggingface.co (`hub_url` is "
                                    "reserved: give the model entry another name)");
    return;
  }
  if (auto v = ParseUrl(r, node, "models.hub_url", "base URL, e.g. https://huggingface.co")) {
    while (!v->empty() && v->back() == '/') v->pop_back();
    out.url = *v;
    out.where = r.Loc(node);
  }
}

template <typename Entry, typename ParseFn>
void ParseNamedEntries(YamlReader& r, const YAML::Node& node, const std::string& key, std::vector<Entry>& out,
                       ParseFn parse, const std::string& reserved = "") {
  if (node.IsNull()) return;
  if (!r.IsMap(node, key)) return;  // reports names given twice, naming both places
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const std::string name = kv.first.Scalar();
    if (!reserved.empty() && name == reserved) continue;  // not an entry (see ParseHubUrl)
    if (!IsValidEntryName(name)) {
      r.Error(kv.first, key + "." + Shown(name), "names start with a letter or digit and use letters, digits, '_', "
                                                 "'-', '.', ':' (at most 64)");
      continue;
    }
    if (!seen.insert(name).second) continue;  // a duplicate: the first one counts, the error is out

    Entry entry;
    parse(r, name, kv.first, kv.second, entry);
    out.push_back(std::move(entry));
  }
}

}  // namespace

// An http:// or https:// URL of bounded length.
std::optional<std::string> detail::ParseUrl(YamlReader& r, const YAML::Node& node, const std::string& key, const char* what) {
  auto v = r.Expanded(node, key);
  if (!v || TooLong(r, node, key, *v, kMaxUrlBytes, "a URL")) return std::nullopt;
  if (v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0) {
    r.Error(node, key, std::string("expected an http:// or https:// ") + what + ", got '" + Shown(*v) + "'");
    return std::nullopt;
  }
  return v;
}

LoadResult LoadString(const std::string& yaml, const std::string& file_name, const GetEnv& env) {
  LoadResult result;
  result.config = Defaults(env);
  result.config.source = file_name;
  YamlReader r(file_name, env, result.diagnostics);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    r.Error(Location{file_name, e.mark.line + 1, e.mark.column + 1}, "", "YAML syntax error: " + e.msg);
    return result;
  }
  if (root.IsNull()) return result;  // an empty file means: all defaults
  if (!r.CheckMap(root, "", {"engine", "gateway", "tool_server", "ports", "models", "mcp_servers", "chat"}))
    return result;
  Config& c = result.config;
  try {
    if (root["engine"]) ParseEngine(r, root["engine"], c.engine);
    if (root["gateway"]) ParseGateway(r, root["gateway"], c.gateway);
    if (root["tool_server"]) ParseToolServer(r, root["tool_server"], c.tool_server);
    if (root["ports"]) ParsePorts(r, root["ports"], c.ports);
    if (root["models"]) {
      c.models.clear();
      ParseNamedEntries(r, root["models"], "models", c.models, ParseModel, kHubUrlKey);
      ParseHubUrl(r, root["models"], c.hub);
    }
    if (root["mcp_servers"]) ParseNamedEntries(r, root["mcp_servers"], "mcp_servers", c.mcp_servers, ParseMcpServer);
    if (root["chat"]) ParseChat(r, root["chat"], c.chat);
  } catch (const YAML::Exception& e) {  // defensive: the reader avoids throwing accessors
    r.Error(Location{file_name, e.mark.line + 1, e.mark.column + 1}, "", std::string("unexpected YAML: ") + e.what());
  }
  CheckDuplicatePorts(r, c);
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(), [](const auto& a, const auto& b) {
    return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
  });
  return result;
}

LoadResult LoadFile(const std::filesystem::path& path, const GetEnv& env) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  std::string problem;
  if (ec) problem = "cannot read the file: " + ec.message() + "; check the path, or run without --config for defaults";
  else if (size > kMaxConfigBytes) problem = "file is larger than 4 MiB; is this really llm_backends.yaml?";
  std::string text;
  if (problem.empty()) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
    if (!in) problem = "cannot read the file";
    else if (text.find('\0') != std::string::npos) problem = "file contains NUL bytes; expected YAML text";
  }
  if (!problem.empty()) {
    LoadResult result;
    result.config = Defaults(env);
    result.diagnostics.push_back({Diagnostic::Severity::kError, {path.string(), 1, 1}, "", problem});
    return result;
  }
  return LoadString(text, path.string(), env);
}

}  // namespace llmdesk::config
