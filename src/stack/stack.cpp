// Stack (contract in stack.h): manager, tool server, history, MCP host, chat service, control API.
#include "stack/stack.h"

#include <spdlog/spdlog.h>

#include <mutex>
#include <thread>

#include "config/config_diff.h"
#include "control/control.h"
#include "gateway/gateway.h"
#include "mcp/http_transport.h"
#include "mcp/server.h"
#include "net/http_client.h"
#include "net/ports.h"
#include "store/history.h"
#include "tools/tools.h"

namespace llmdesk::stack {
namespace {

constexpr int kToolServerFallbackPorts = 16;

std::string HostForUrl(const std::string& host) {
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "[::1]";
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

struct Stack::Parts {
  config::Config config;
  std::vector<std::string> notes;
  std::unique_ptr<manager::Manager> manager;
  net::HttpClient http;
  tools::Registry registry;
  std::unique_ptr<mcp::Server> mcp_server;
  std::unique_ptr<mcp::HttpServer> tool_server;
  std::thread tool_server_thread;
  std::string tool_server_url;
  std::unique_ptr<store::History> history;
  std::unique_ptr<chat::McpHost> host;
  std::thread host_connect;
  std::unique_ptr<chat::ChatService> chat;
  std::unique_ptr<gateway::Gateway> gateway;  // /v1 on the control API's listener; outlives it
  std::unique_ptr<control::ControlServer> api;
  bool stopped = false;     // under reload_mu
  std::mutex reload_mu;     // one reload at a time; guards `config` and `stopped`

  // Binds the tool server on its configured port, or — with on_conflict fallback — on the next free one.
  Status BindToolServer() {
    const auto& ts = config.tool_server;
    mcp_server = std::make_unique<mcp::Server>(registry);
    const int first = ts.port;
    const int attempts = config.ports.on_conflict == config::OnConflict::kFallback && first != 0 ? kToolServerFallbackPorts : 1;
    std::string why;
    for (int k = 0; k < attempts; ++k) {
      mcp::HttpOptions o;
      o.host = ts.host;
      o.port = first == 0 ? 0 : first + k;
      o.token = ts.token.value_or("");
      auto server = std::make_unique<mcp::HttpServer>(*mcp_server, o);
      if (Status bound = server->Bind(); bound.ok()) {
        tool_server = std::move(server);
        if (k > 0) notes.push_back("tool server: " + why + "; using port " + std::to_string(tool_server->port()));
        return Status::Ok();
      } else if (k == 0) {
        auto holder = net::FindPortHolder(first);
        why = "port " + std::to_string(first) + " " + (holder ? holder->Describe() : "is taken");
        if (attempts == 1)
          return Status::Unavailable("the tool server cannot listen on " + ts.host + ":" + std::to_string(first) + ": " +
                                     (holder ? "port " + std::to_string(first) + " " + holder->Describe() + "; " +
                                                   holder->HowToFree()
                                             : bound.message()) +
                                     " (or set tool_server.port, or ports.on_conflict: fallback)");
      }
    }
    return Status::Unavailable("the tool server found no free port in " + std::to_string(first) + "-" +
                               std::to_string(first + attempts - 1) + " (" + why + ")");
  }
};

Stack::Stack(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Stack::~Stack() { Stop(std::chrono::seconds(10)); }

Result<std::unique_ptr<Stack>> Stack::Start(Options options) {
  auto parts = std::make_unique<Parts>();
  parts->config = options.config;
  options.manager.config = options.config;
  auto created = manager::Manager::Create(std::move(options.manager));
  if (!created.ok()) return created.status();
  parts->manager = std::move(created).value();
  // From here on a failure returns through ~Stack, which stops whatever was started.
  std::unique_ptr<Stack> stack(new Stack(std::move(parts)));
  Parts* p = stack->parts_.get();
  for (const auto& note : p->manager->startup_notes()) p->notes.push_back(note);

  p->registry = tools::BuiltinTools(p->config.tool_server.tools);
  if (Status s = p->BindToolServer(); !s.ok()) return s;
  p->tool_server_url =
      "http://" + HostForUrl(p->config.tool_server.host) + ":" + std::to_string(p->tool_server->port()) + "/mcp";
  p->tool_server_thread = std::thread([p] {
    if (Status s = p->tool_server->Run(); !s.ok()) spdlog::error("tool server: {}", s.message());
  });

  if (options.history) {
    auto history = store::History::Open(store::History::DefaultPath());
    if (history.ok()) p->history = std::move(history).value();
    else p->notes.push_back("chat history is off: " + history.status().message());
  }
  p->host = std::make_unique<chat::McpHost>(p->http, p->config.chat, chat::ServerSpecs(p->config, p->tool_server_url));
  // External servers may take seconds to start (npx ...): connect in the background; McpHost::Tools()
  // waits for this first round, so a chat that begins meanwhile still sees them.
  p->host_connect = std::thread([p] { p->host->Refresh(); });
  p->chat = std::make_unique<chat::ChatService>(*p->manager, p->host.get(), p->http, p->history.get());

  if (options.control_api) {
    control::ServerOptions api;
    api.host = p->config.gateway.host;
    api.port = p->config.gateway.port;
    api.token = p->config.gateway.token.value_or("");
    api.chat = p->chat.get();
    api.history = p->history.get();
    api.mcp = p->host.get();
    api.tools = p->host.get();  // /api/tools: the desktop app's Tools tab
    api.configured_port = p->config.gateway.port;
    api.listeners.push_back({.name = "tool server", .url = p->tool_server_url,
                             .configured_port = p->config.tool_server.port, .port = p->tool_server->port()});
    api.reload = [s = stack.get()] { return s->Reload(); };
    // The OpenAI-compatible gateway (issue 9) shares the listener: /v1 and /metrics.
    p->gateway = std::make_unique<gateway::Gateway>(*p->manager, p->host.get());
    api.add_routes = [g = p->gateway.get()](net::HttpServer& server) { g->Register(server); };
    auto started = control::ControlServer::Start(*p->manager, std::move(api));
    if (!started.ok()) return started.status();
    p->api = std::move(started).value();
  }
  return stack;
}

manager::Manager& Stack::manager() { return *parts_->manager; }
chat::ChatService& Stack::chat() { return *parts_->chat; }
chat::McpHost& Stack::tools() { return *parts_->host; }
const std::string& Stack::tool_server_url() const { return parts_->tool_server_url; }
std::string Stack::control_url() const { return parts_->api ? parts_->api->url() : ""; }
const std::vector<std::string>& Stack::notes() const { return parts_->notes; }

Result<control::ReloadReport> Stack::Reload() {
  Parts& p = *parts_;
  std::lock_guard lock(p.reload_mu);
  if (p.stopped) return Status::FailedPrecondition("the stack is stopping");
  if (p.config.source.empty())
    return Status::FailedPrecondition("this stack runs on the built-in defaults, not a config file: there is no file to "
                                      "re-read (start it with --config FILE to reload that file later)");
  auto loaded = config::LoadFile(p.config.source, config::ProcessEnv());
  if (!loaded.ok()) {
    std::string lines;
    for (const auto& d : loaded.errors()) lines += "\n" + d.ToString();
    return Status::InvalidArgument(std::to_string(loaded.errors().size()) + " error(s) in " + p.config.source +
                                   "; nothing was changed:" + lines);
  }
  const config::ConfigDiff diff = config::Diff(p.config, loaded.config);
  config::Config next = std::move(loaded.config);
  // What only a restart applies keeps running as it is, so the next reload compares with what runs.
  next.gateway = p.config.gateway;
  next.tool_server = p.config.tool_server;
  next.mcp_servers = p.config.mcp_servers;
  next.chat = p.config.chat;
  for (auto& m : next.models)  // unchanged entries keep what the front end prepared (an `hf:` model's file)
    if (const auto* old = p.config.FindModel(m.name); old && config::SameModelSettings(*old, m)) m = *old;
  auto applied = p.manager->Reconfigure(next);
  if (!applied.ok()) return applied.status();
  p.config = std::move(next);
  control::ReloadReport report;
  report.file = p.config.source;
  report.backends = std::move(applied).value();
  report.applied = diff.live_settings;
  report.needs_restart = diff.needs_restart;
  for (const auto& w : loaded.warnings()) report.warnings.push_back(w.ToString());
  return report;
}

Status Stack::Stop(std::chrono::milliseconds grace) {
  Parts& p = *parts_;
  {
    std::lock_guard lock(p.reload_mu);
    if (p.stopped) return Status::Ok();
    p.stopped = true;
  }
  if (p.gateway) p.gateway->Shutdown();  // requests waiting for a model or streaming give up at once
  if (p.api) p.api->Stop();
  if (p.host_connect.joinable()) p.host_connect.join();
  if (p.tool_server) p.tool_server->Stop();
  if (p.tool_server_thread.joinable()) p.tool_server_thread.join();
  p.host.reset();  // stdio MCP servers we started go with it
  return p.manager->StopAllAndWait(grace);
}

void Stack::Kill() { parts_->manager->KillAll(); }

}  // namespace llmdesk::stack
