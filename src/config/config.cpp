#include "config/config.h"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "platform/user_dirs.h"

namespace llmdesk::config {

std::string Location::ToString() const {
  if (line == 0) return file.empty() ? "<built-in defaults>" : file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string Diagnostic::ToString() const {
  std::string out = where.ToString() + (severity == Severity::kError ? ": error: " : ": warning: ");
  if (!key.empty()) out += key + ": ";
  return out + message;
}

bool LoadResult::ok() const { return errors().empty(); }

std::vector<Diagnostic> LoadResult::errors() const {
  std::vector<Diagnostic> out;
  for (const auto& d : diagnostics)
    if (d.severity == Diagnostic::Severity::kError) out.push_back(d);
  return out;
}

std::vector<Diagnostic> LoadResult::warnings() const {
  std::vector<Diagnostic> out;
  for (const auto& d : diagnostics)
    if (d.severity == Diagnostic::Severity::kWarning) out.push_back(d);
  return out;
}

const ModelConfig* Config::FindModel(const std::string& name) const {
  for (const auto& m : models)
    if (m.name == name) return &m;
  return nullptr;
}

GetEnv ProcessEnv() { return platform::ProcessEnvValue; }

Config Defaults(const GetEnv& env) {
  Config c;
  ModelConfig m;
  m.name = "default";
  m.port = 10500;
  const std::filesystem::path data = platform::UserDataDir(env);
  std::error_code ec;  // the path comes from the environment: never the throwing overloads
  if (!data.empty() && std::filesystem::is_regular_file(data / "llmdesk" / "models" / "default.gguf", ec))
    m.model = (data / "llmdesk" / "models" / "default.gguf").string();
  else
    m.hf = kDefaultHfModel;
  c.models.push_back(m);
  return c;
}

std::optional<std::filesystem::path> FindConfigFile(const std::optional<std::string>& explicit_path,
                                                    const GetEnv& env) {
  if (explicit_path) return platform::PathFromUtf8(*explicit_path);
  if (auto v = env("LLMDESK_CONFIG"); v && !v->empty()) return platform::PathFromUtf8(*v);
  std::error_code ec;  // paths come from the environment: never the throwing overloads
  if (std::filesystem::exists("llm_backends.yaml", ec)) return std::filesystem::path("llm_backends.yaml");
  const std::filesystem::path xdg = platform::UserConfigDir(env);  // %APPDATA% on Windows
  if (!xdg.empty() && std::filesystem::exists(xdg / "llmdesk" / "llm_backends.yaml", ec))
    return xdg / "llmdesk" / "llm_backends.yaml";
  return std::nullopt;
}

Status CheckModelStartable(const ModelConfig& m) {
  const std::string where = m.where.line ? " (" + m.where.ToString() + ")" : "";
  std::error_code ec;  // the path is the user's: never the throwing overloads
  switch (m.kind) {
    case ModelConfig::Kind::kRemote: return Status::Ok();
    case ModelConfig::Kind::kCommand:
      if (!m.model.empty() && !std::filesystem::exists(platform::PathFromUtf8(m.model), ec))
        return Status::NotFound("model '" + m.name + "': file " + m.model + " does not exist" + where);
      return Status::Ok();
    case ModelConfig::Kind::kLocal:
      if (m.model.empty() && m.hf.empty())
        return Status::InvalidArgument("model '" + m.name + "' has no model file" + where +
                                       "; add `model: /path/to/model.gguf` (or `hf: owner/repo:QUANT`) to it");
      if (!m.model.empty() && !std::filesystem::is_regular_file(platform::PathFromUtf8(m.model), ec))
        return Status::NotFound("model '" + m.name + "': file " + m.model + " does not exist" + where +
                                "; fix `model:` or download the GGUF file there");
      return Status::Ok();
  }
  return Status::Ok();
}

const char* ToString(OnConflict v) { return v == OnConflict::kFail ? "fail" : "fallback"; }
const char* ToString(Approval v) { return v == Approval::kAsk ? "ask" : v == Approval::kDeny ? "deny" : "auto"; }
const char* ToString(ModelConfig::Kind v) {
  return v == ModelConfig::Kind::kRemote ? "remote" : v == ModelConfig::Kind::kCommand ? "command" : "local";
}

nlohmann::json ToJson(const Config& c) {
  using nlohmann::json;
  auto listener = [](const ListenerConfig& l) {
    return json{{"host", l.host}, {"port", l.port}, {"token", l.token ? json("<set>") : json(nullptr)}};
  };
  json j;
  j["source"] = c.source.empty() ? json(nullptr) : json(c.source);
  j["engine"] = {{"llama_server", c.engine.llama_server}};
  j["gateway"] = listener(c.gateway);
  j["gateway"]["max_loaded"] = c.gateway.max_loaded;
  j["gateway"]["queue"] = c.gateway.queue;
  j["gateway"]["cors_origins"] = c.gateway.cors_origins;
  j["tool_server"] = listener(c.tool_server);
  j["tool_server"]["tools"] = c.tool_server.tools;
  j["ports"] = {{"on_conflict", ToString(c.ports.on_conflict)},
                {"range", std::to_string(c.ports.range_first) + "-" + std::to_string(c.ports.range_last)}};
  j["models"] = json::object();
  for (const auto& m : c.models) {
    json e = {{"kind", ToString(m.kind)}, {"port", m.port ? json(m.port) : json("auto")}};
    if (!m.model.empty()) e["model"] = m.model;
    if (!m.hf.empty()) e["hf"] = m.hf;
    if (!m.url.empty()) e["url"] = m.url;
    if (!m.api_key.empty()) e["api_key"] = "<set>";  // never print secrets
    if (!m.command.empty()) e["command"] = m.command;
    e["args"] = m.args;
    e["env"] = m.env;
    e["ttl"] = m.ttl_s;
    e["autostart"] = m.autostart;
    e["startup_timeout"] = m.startup_timeout_s;
    e["stop_grace"] = m.stop_grace_s;
    if (!m.device.empty()) e["device"] = m.device;
    e["gpu_layers"] = m.gpu_layers;
    if (!m.rpc.empty()) e["rpc"] = m.rpc;  // issue 14: RPC workers
    j["models"][m.name] = e;
  }
  if (!c.hub.url.empty()) j["models"]["hub_url"] = c.hub.url;  // as written in the file: models.hub_url
  j["mcp_servers"] = json::object();
  for (const auto& s : c.mcp_servers) {
    json e;
    if (!s.command.empty()) e["command"] = s.command;
    if (!s.url.empty()) e["url"] = s.url;
    e["env"] = s.env;
    json headers = json::object();
    for (const auto& [k, v] : s.headers) headers[k] = "<set>";  // never print secrets
    e["headers"] = headers;
    if (s.timeout_s) e["timeout_s"] = *s.timeout_s;
    e["connect_timeout_s"] = s.connect_timeout_s;
    j["mcp_servers"][s.name] = e;
  }
  j["chat"] = {{"max_tool_steps", c.chat.max_tool_steps},
               {"tool_timeout_s", c.chat.tool_timeout_s},
               {"approval", ToString(c.chat.approval)}};
  for (const auto& [tool, a] : c.chat.tool_approval) j["chat"]["tools"][tool]["approval"] = ToString(a);
  for (const auto& [tool, t] : c.chat.tool_timeouts_s) j["chat"]["tools"][tool]["timeout_s"] = t;
  return j;
}

namespace {
YAML::Node JsonToYaml(const nlohmann::json& j) {
  YAML::Node n;
  if (j.is_object()) {
    n = YAML::Node(YAML::NodeType::Map);
    for (const auto& [k, v] : j.items()) n[k] = JsonToYaml(v);
  } else if (j.is_array()) {
    n = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& v : j) n.push_back(JsonToYaml(v));
  } else if (j.is_string()) {
    n = j.get<std::string>();
  } else if (!j.is_null()) {
    n = j.dump();
  }
  return n;
}
}  // namespace

std::string ToYaml(const Config& c) {
  nlohmann::json j = ToJson(c);
  j.erase("source");
  YAML::Emitter out;
  out << JsonToYaml(j);
  return std::string(out.c_str()) + "\n";
}

}  // namespace llmdesk::config
