// config/config.h — llm_backends.yaml: typed configuration, lookup, validation, emission.
//
// Contract
//  - Load*() never throws and never crashes on bad input: every problem becomes a Diagnostic that
//    names file:line:col, the key path, what was expected, and (for unknown keys) a "did you mean".
//  - A LoadResult with any error must not be used to start anything (the CLI exits with code 2).
//  - Warnings (e.g. a model file that does not exist yet) do not stop loading; starting that model
//    later fails with CheckModelStartable().
//  - `~` and `${VAR}` / `${VAR:-default}` are expanded in paths, args, env values, urls and commands;
//    `${PORT}` and `${MODEL}` are kept: they are llmdesk's macros, filled in when a server is spawned.
//  - Pure functions, no threads, no globals: the environment is passed in explicitly.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "tools/names.h"

namespace llmdesk::config {

// Where a value came from in the YAML text (1-based; line 0 = built-in default).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
  std::string ToString() const;  // "file:line:col" or "<built-in defaults>"
};

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  Location where;
  std::string key;      // dotted path, e.g. "models.default.port"
  std::string message;  // what was wrong and what was expected
  // "file:line:col: error: key: message"
  std::string ToString() const;
};

struct EngineConfig {
  std::string llama_server = "auto";  // "auto" = PATH, then the scripts/setup prefix
};

struct ListenerConfig {
  std::string host = "127.0.0.1";
  int port = 0;
  std::optional<std::string> token;  // bearer token; none = no auth (loopback only is enforced elsewhere)
  Location where;
};

// The OpenAI-compatible gateway (src/gateway) shares the gateway listener with the control API.
struct GatewayConfig : ListenerConfig {
  int max_loaded = 0;  // gateway.max_loaded: spawned models running at once; 0 = no bound (LRU unload beyond)
  int queue = 64;      // gateway.queue: requests per model waiting for it (start, swap); 429 beyond
  // gateway.cors_origins: browser origins ("https://app.example:8443", exactly as browsers send them) that
  // may call /v1 (CORS preflight answered, Access-Control-Allow-Origin set); any other foreign Origin is 403.
  std::vector<std::string> cors_origins;
};

struct ToolServerConfig : ListenerConfig {
  std::vector<std::string> tools = tools::BuiltinToolNames();
};

enum class OnConflict { kFallback, kFail };

struct PortsConfig {
  OnConflict on_conflict = OnConflict::kFallback;
  int range_first = 10500;
  int range_last = 10999;
};

struct ModelConfig {
  enum class Kind {
    kLocal,    // llama-server with `model:` (a GGUF file) or `hf:` (a Hugging Face repo:quant)
    kCommand,  // any OpenAI-compatible server started with `command:` (macros ${PORT}, ${MODEL})
    kRemote,   // `url:` an already running server, never spawned
  };
  std::string name;
  Kind kind = Kind::kLocal;
  std::string model;                 // expanded path of the GGUF file (kLocal / kCommand)
  std::string hf;                    // "owner/repo:QUANT" (kLocal, download handled by models/)
  std::string url;                   // kRemote base url, e.g. http://gpu-box:8000/v1
  std::string api_key;               // kRemote: sent as a bearer token (api_key: ${ENV}); never printed
  std::vector<std::string> command;  // kCommand argv (never run through a shell)
  int port = 0;                      // configured port; 0 = first free port of ports.range
  std::vector<std::string> args;     // extra llama-server arguments
  std::map<std::string, std::string> env;
  int ttl_s = 0;                     // idle seconds before unload; 0 = never
  bool autostart = false;
  double startup_timeout_s = 300;
  double stop_grace_s = 10;
  Location where;                    // the model's key in the file
  Location port_where;               // the `port:` value, for port conflict messages
  // Shown next to the name wherever the backend appears (status, events): set by models::PrepareModels
  // for the built-in demo model ("demo: scripted, not a language model"); not a YAML key.
  std::string label;
  // Where the model runs (issue 15; config_placement.cpp). `device:` empty = the engine's choice; "cpu"; or a
  // device `llmdesk devices` lists (Vulkan0, CUDA0). `gpu_layers:` "auto" (the engine fits layers to free
  // device memory), "all", or a count as text ("20").
  std::string device;
  std::string gpu_layers = "auto";
  Location device_where;             // the `device:` value, for device errors (config check, start)
  // ---- RPC workers (issue 14) ----
  // `rpc: [host:port, ...]` (kLocal only): llama.cpp RPC workers the engine splits the model over
  // (llama-server --rpc a,b); the manager checks that each answers before it starts the engine.
  std::vector<std::string> rpc;
  // Set by `llmdesk rpc-worker`, not a YAML key: non-empty = this backend is a ggml-rpc-server bound to
  // this address; its readiness and health are the RPC HELLO handshake instead of HTTP.
  std::string rpc_server_host;
};

// The name of llmdesk's own tool server among the chat's MCP servers: not available to mcp_servers entries.
inline constexpr const char* kOwnServerName = "llmdesk";

struct McpServerConfig {
  std::string name;
  std::vector<std::string> command;  // stdio server: command + args
  std::map<std::string, std::string> env;
  std::string url;                   // Streamable HTTP server
  std::map<std::string, std::string> headers;
  std::optional<double> timeout_s;   // tools/call deadline for this server's tools (over chat.tool_timeout_s)
  double connect_timeout_s = 10;     // spawn/connect + initialize + tools/list, per attempt
  Location where;
};

enum class Approval { kAuto, kAsk, kDeny };

struct ChatConfig {
  int max_tool_steps = 8;
  double tool_timeout_s = 60;
  Approval approval = Approval::kAuto;
  // Per-tool overrides, by the name the model sees: `chat.tools.<name>: ask` or
  // `chat.tools.<name>: {approval: ask, timeout_s: 5}`.
  std::map<std::string, Approval> tool_approval;
  std::map<std::string, double> tool_timeouts_s;  // over mcp_servers.<server>.timeout_s and chat.tool_timeout_s
};

// Where `llmdesk pull` and `hf:` entries download from (issue 11): `models.hub_url` in the file — the one
// scalar key among the named model entries, so a model may not be called `hub_url`. Empty = $HF_ENDPOINT,
// else https://huggingface.co (models::HubEndpoint decides).
struct HubConfig {
  std::string url;
  Location where;
};

struct Config {
  std::string source;  // path of the file it came from; empty = built-in defaults
  EngineConfig engine;
  GatewayConfig gateway{{.port = 8760}};
  ToolServerConfig tool_server{{.port = 8763}};
  PortsConfig ports;
  std::vector<ModelConfig> models;  // in file order
  std::vector<McpServerConfig> mcp_servers;
  ChatConfig chat;
  HubConfig hub;

  const ModelConfig* FindModel(const std::string& name) const;
};

// Environment lookups are injected so tests (and the GUI) control them.
using GetEnv = std::function<std::optional<std::string>(const std::string&)>;
GetEnv ProcessEnv();

struct LoadResult {
  Config config;
  std::vector<Diagnostic> diagnostics;  // errors and warnings, in file order
  bool ok() const;                      // no errors
  std::vector<Diagnostic> errors() const;
  std::vector<Diagnostic> warnings() const;
};

// The built-in `default` model (issue 11): small and tool-capable, pulled on first start (models/).
inline constexpr const char* kDefaultHfModel = "Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M";

// Built-in defaults: tool server 8763, gateway 8760, one model "default" on port 10500: `hf:
// kDefaultHfModel`, or the file $XDG_DATA_HOME/llmdesk/models/default.gguf when one is there (where
// earlier versions asked for it).
Config Defaults(const GetEnv& env);

// The file to use: explicit path, $LLMDESK_CONFIG, ./llm_backends.yaml,
// $XDG_CONFIG_HOME/llmdesk/llm_backends.yaml (or ~/.config/...). nullopt = use Defaults().
std::optional<std::filesystem::path> FindConfigFile(const std::optional<std::string>& explicit_path,
                                                    const GetEnv& env);

LoadResult LoadFile(const std::filesystem::path& path, const GetEnv& env);
LoadResult LoadString(const std::string& yaml, const std::string& file_name, const GetEnv& env);

// Errors that only matter when a model is about to start (missing GGUF file, no model at all).
Status CheckModelStartable(const ModelConfig& model);

// The effective configuration, for `llmdesk config show [--json]`. Strings are the config's bytes as
// given (paths need not be UTF-8): dump with json::error_handler_t::replace.
nlohmann::json ToJson(const Config& config);
std::string ToYaml(const Config& config);

const char* ToString(OnConflict v);
const char* ToString(Approval v);
const char* ToString(ModelConfig::Kind v);

}  // namespace llmdesk::config
