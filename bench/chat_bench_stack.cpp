// llmdesk-chat-bench stack — what the whole stack adds to the app's scenario, "What's 2+2?" from a stopped
// model to the answer, beyond llama-server's own load and generation time as it reports them (issue 8 §2:
// goal <= 50 ms).
//
// The stack: `llmdesk serve` with the generated model that calls calculator and then answers with the
// tool's result (llmdesk-testmodel --answer-after-tool) as its default model. Each run stops the model
// (POST /api/backends/default/stop, waits for `stopped`), then times POST /api/chat from sending the
// request to the `done` event: the manager starts llama-server on demand, the agent asks it, calls the
// MCP calculator of the stack's tool server, asks again, and the answer streams back as SSE.
// The engine's own time, from its log (llama-server runs with LLAMA_ARG_LOG_PREFIX/TIMESTAMPS=1 so each
// line carries the time since its log started):
//   load  = the timestamp of "model loaded";
//   generation = the "prompt eval time" + "eval time" of every request (print_timing lines; the same
//                numbers as the `timings` object of its responses: prompt_ms, predicted_ms).
//   overhead = wall - load - generation.
// Baseline in the same run, alternating with the stack: a plain client spawns the same llama-server with
// the same arguments, polls /health every 2 ms, and sends the same two requests (the stack's request
// bodies, built the same way) — its overhead, computed the same way, is what any client pays (process
// start before the engine's log begins, HTTP, tokenizing and templating the prompt, which the engine's
// timings leave out). The difference is what llmdesk adds over that plain client.
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "chat_bench.h"
#include "chat_bench_engine_log.h"
#include "llm/openai.h"
#include "mcp/client.h"
#include "net/http_client.h"
#include "net/sse.h"

namespace llmdesk::bench {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::map<std::string, std::string> kEngineLogEnv = {{"LLAMA_ARG_LOG_PREFIX", "1"},
                                                          {"LLAMA_ARG_LOG_TIMESTAMPS", "1"}};
constexpr const char* kPrompt = "What's 2+2?";

struct Run {
  double wall = 0;
  double serve_cpu_ms = 0;  // stack only: CPU time of the `llmdesk serve` process during the chat
  EngineTimes engine;
  std::map<std::string, double> at;  // stack only: when (ms after the request) each kind of event first came
  double overhead() const { return wall - engine.load_ms - engine.generation_ms(); }
};

// utime + stime of a process (its own threads, not its children), in ms (clock-tick resolution).
double ProcessCpuMs(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string skip;
  for (int k = 3; k < 14; ++k) fields >> skip;  // state ... cmajflt (fields 3-13)
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

Result<net::HttpResponse> Get(net::HttpClient& http, const std::string& url) {
  return http.Send({.method = "GET", .url = url, .timeout = 10s});
}

Json GetJson(net::HttpClient& http, const std::string& url) {
  auto r = Get(http, url);
  if (!r.ok() || r->status != 200) Die("GET " + url + ": " + (r.ok() ? std::to_string(r->status) + " " + r->body : r.status().ToString()));
  Json j = Json::parse(r->body, nullptr, false);
  if (j.is_discarded()) Die("GET " + url + ": not JSON: " + r->body.substr(0, 200));
  return j;
}

// Streams a POST and hands every SSE event to `on_event` (return false to stop reading).
void PostSse(net::HttpClient& http, const std::string& url, const std::string& body,
             const std::function<bool(const net::SseEvent&)>& on_event) {
  net::SseParser parser;
  std::vector<net::SseEvent> events;
  bool stopped = false;
  net::HttpRequest req{.method = "POST", .url = url,
                       .headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}},
                       .body = body, .idle_timeout = 120s};
  int status = 0;
  Status s = http.Stream(
      req, [&](int code, const net::HeaderList&) { return (status = code) == 200; },
      [&](std::string_view chunk) {
        events.clear();
        if (!parser.Feed(chunk, events).ok()) Die("POST " + url + ": bad SSE");
        for (const auto& e : events)
          if (!on_event(e)) return !(stopped = true);
        return true;
      });
  if (!s.ok() || status != 200) Die("POST " + url + ": " + (s.ok() ? "HTTP " + std::to_string(status) : s.ToString()));
  if (!stopped) Die("POST " + url + ": the stream ended before the answer");
}

// ---- the stack ---------------------------------------------------------------------------------------
class ServeStack {
 public:
  ServeStack(const fs::path& llmdesk, const fs::path& dir, const fs::path& engine, const fs::path& model) {
    const int api_port = FreePort(), tool_port = FreePort(), model_port = FreePort();
    api_ = "http://127.0.0.1:" + std::to_string(api_port);
    const std::string yaml =
        "engine:\n  llama_server: " + engine.string() + "\ngateway: {host: 127.0.0.1, port: " + std::to_string(api_port) +
        "}\ntool_server: {port: " + std::to_string(tool_port) + "}\nports:\n  on_conflict: fallback\n  range: " +
        std::to_string(model_port) + "-" + std::to_string(model_port + 50) + "\nmodels:\n  default:\n    model: " +
        model.string() + "\n    port: " + std::to_string(model_port) +
        "\n    args: [--ctx-size, \"2048\"]\n    startup_timeout: 120\n    env: {LLAMA_ARG_LOG_PREFIX: \"1\", "
        "LLAMA_ARG_LOG_TIMESTAMPS: \"1\"}\n";
    fs::create_directories(dir / "run");
    const fs::path config = dir / "llm_backends.yaml";
    std::ofstream(config) << yaml;
    std::map<std::string, std::string> env = {{"XDG_RUNTIME_DIR", (dir / "run").string()},
                                              {"XDG_STATE_HOME", (dir / "state").string()},
                                              {"XDG_DATA_HOME", (dir / "data").string()},
                                              {"XDG_CONFIG_HOME", (dir / "config").string()},
                                              {"LLMDESK_CONFIG", ""}};
    try {
      serve_ = test::SpawnProcess({.argv = {llmdesk.string(), "--config", config.string(), "serve"}, .env = env,
                                   .out = test::Stdio::File(dir / "serve.log"), .err = test::Stdio::Merge()});
    } catch (const std::exception& e) {
      Die(e.what());
    }
    for (auto deadline = Clock::now() + 60s;; std::this_thread::sleep_for(10ms)) {
      if (serve_.Exited()) Die("llmdesk serve exited; see " + (dir / "serve.log").string());
      auto r = Get(http_, api_ + "/health");
      if (r.ok() && r->status == 200) break;
      if (Clock::now() > deadline) Die("llmdesk serve did not answer /health within 60 s");
    }
    tool_url_ = "http://127.0.0.1:" + std::to_string(tool_port) + "/mcp";
  }
  ~ServeStack() { serve_.Stop(10s); }

  const std::string& tool_url() const { return tool_url_; }

  void StopModel() {
    const std::string url = api_ + "/api/backends/default";
    if (GetJson(http_, url).value("state", "") == "stopped") return;
    (void)http_.Send({.method = "POST", .url = url + "/stop", .timeout = 10s});
    for (auto deadline = Clock::now() + 60s; GetJson(http_, url).value("state", "") != "stopped";
         std::this_thread::sleep_for(5ms))
      if (Clock::now() > deadline) Die("the model did not stop within 60 s");
  }

  Run Chat() {
    StopModel();
    const fs::path log = GetJson(http_, api_ + "/api/backends/default").value("log_file", "");
    std::error_code ec;
    const auto offset = fs::exists(log, ec) ? fs::file_size(log, ec) : 0;
    Run run;
    std::string answer;
    const double cpu0 = ProcessCpuMs(serve_.pid());
    const auto t0 = Clock::now();
    PostSse(http_, api_ + "/api/chat", Json{{"prompt", kPrompt}}.dump(), [&](const net::SseEvent& e) {
      Json data = Json::parse(e.data, nullptr, false);
      std::string key = e.event;
      if (e.event == "backend" && data.is_object()) key += " " + data.value("state", "");
      if (e.event == "request_sent" && data.is_object()) key += " " + std::to_string(data.value("step", 0));
      run.at.emplace(key, MsSince(t0));
      if (e.event == "failed") Die("the chat failed: " + e.data);
      if (e.event != "done") return true;
      run.wall = MsSince(t0);
      answer = data.is_object() ? data.value("answer", "") : "";
      return false;
    });
    if (answer.find('4') == std::string::npos) Die("the stack answered '" + answer + "', without the tool's 4");
    run.serve_cpu_ms = ProcessCpuMs(serve_.pid()) - cpu0;
    run.engine = ReadEngineLog(log, offset, 2);
    return run;
  }

 private:
  net::HttpClient http_;
  std::string api_;
  std::string tool_url_;
  test::Spawned serve_;
};

// ---- the baseline: llama-server and a plain client -------------------------------------------------------
// The completion a streamed chat-completions request got.
llm::Completion Complete(net::HttpClient& http, const std::string& url, const llm::ChatRequest& request) {
  llm::StreamAccumulator acc;
  PostSse(http, url, llm::ToJson(request).dump(), [&](const net::SseEvent& e) {
    if (e.data == "[DONE]") return false;
    Json chunk = Json::parse(e.data, nullptr, false);
    if (chunk.is_discarded() || !acc.Feed(chunk).ok()) Die("llama-server sent a bad chunk: " + e.data.substr(0, 200));
    return true;
  });
  return acc.Finish();
}

// `first_request`: the stack's first request (the user's prompt and its tools, as chat::Agent builds it).
Run Direct(const fs::path& engine, const fs::path& model, const fs::path& log, const llm::ChatRequest& first_request) {
  net::HttpClient http;
  const int port = FreePort();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  Run run;
  const auto t0 = Clock::now();
  test::Spawned e;
  try {  // the manager's argv (manager/spawn.cpp): -m, --host, --port, the configured args, --jinja
    e = test::SpawnProcess({.argv = {engine.string(), "-m", model.string(), "--host", "127.0.0.1", "--port",
                                     std::to_string(port), "--ctx-size", "2048", "--jinja"},
                            .env = kEngineLogEnv, .out = test::Stdio::File(log), .err = test::Stdio::Merge()});
  } catch (const std::exception& ex) {
    Die(ex.what());
  }
  run.at["spawned"] = MsSince(t0);  // SpawnProcess returns once the exec happened
  for (auto deadline = Clock::now() + 120s;; std::this_thread::sleep_for(2ms)) {
    auto r = http.Send({.method = "GET", .url = base + "/health", .connect_timeout = 1s, .timeout = 5s});
    if (r.ok() && r->status == 200) break;
    if (e.Exited()) Die("llama-server exited; see " + log.string());
    if (Clock::now() > deadline) Die("llama-server was not healthy within 120 s");
  }
  run.at["healthy"] = MsSince(t0);
  llm::ChatRequest request = first_request;
  llm::Completion first = Complete(http, base + "/v1/chat/completions", request);
  run.at["answer 1"] = MsSince(t0);
  if (first.message.tool_calls.size() != 1) Die("llama-server did not ask for the tool");
  request.messages.push_back(first.message);
  request.messages.push_back({"tool", "4", {}, first.message.tool_calls[0].id});
  llm::Completion second = Complete(http, base + "/v1/chat/completions", request);
  run.wall = MsSince(t0);
  if (second.message.content.find('4') == std::string::npos) Die("llama-server answered '" + second.message.content + "'");
  run.engine = ReadEngineLog(log, 0, 2);
  e.Stop(10s);
  // The same figures as the responses' own `timings` objects (a check of the log parsing).
  for (const auto* c : {&first, &second})
    run.engine.timings_ms += c->timings.value("prompt_ms", 0.0) + c->timings.value("predicted_ms", 0.0);
  return run;
}

llm::ChatRequest StackRequest(const std::string& tool_url) {
  net::HttpClient http;
  auto client = mcp::Client::Connect({.name = "llmdesk", .url = tool_url}, &http);
  if (!client.ok()) Die("the stack's tool server: " + client.status().ToString());
  auto tools = (*client)->ListTools();
  if (!tools.ok()) Die("tools/list: " + tools.status().ToString());
  std::map<std::string, llm::ToolSpec> by_name;  // chat::Agent offers them in name order
  for (const auto& t : *tools) by_name.emplace(t.value("name", ""), llm::FromMcpTool(t));
  llm::ChatRequest r;
  r.model = "default";
  r.messages = {{"user", kPrompt, {}, ""}};
  for (auto& [name, spec] : by_name) r.tools.push_back(spec);
  return r;
}

fs::path MakeModel(const fs::path& bin_dir, const fs::path& dir) {
  const fs::path out = dir / "answer.gguf";
  auto r = test::RunCommand({(bin_dir / "llmdesk-testmodel").string(), "--out", out.string(), "--tool-call",
                             "calculator", R"({"expression":"2+2"})", "--answer-after-tool", "The sum is "},
                            120s);
  if (r.exit_code != 0) Die("llmdesk-testmodel failed: " + r.err);
  return out;
}

Samples Of(const std::vector<Run>& runs, const std::function<double(const Run&)>& f) {
  Samples out;
  for (const auto& r : runs) out.push_back(f(r));
  return out;
}

}  // namespace

int RunStackBench(const StackArgs& a) {
  if (a.runs < 1) Die("--runs must be >= 1");
  const fs::path bin_dir = fs::canonical("/proc/self/exe").parent_path();
  const fs::path llmdesk = a.llmdesk.empty() ? bin_dir / "llmdesk" : fs::path(a.llmdesk);
  const fs::path engine = a.llama_server.empty() ? test::LlamaServerPath() : fs::path(a.llama_server);
  TempDir dir;
  const fs::path model = a.model.empty() ? MakeModel(bin_dir, dir.path()) : fs::path(a.model);
  std::printf("llmdesk-chat-bench stack: %d runs each, %s\n", a.runs, MachineLoad().c_str());
  std::printf("engine: %s\nmodel: %s%s\n", engine.c_str(), model.c_str(), a.model.empty() ? " (generated)" : "");

  ServeStack stack(llmdesk, dir.path() / "stack", engine, model);
  const llm::ChatRequest first = StackRequest(stack.tool_url());
  std::vector<Run> ours, direct;
  for (int i = -1; i < a.runs; ++i) {  // run -1 warms both up (page cache, the MCP host's first connect)
    Run s = stack.Chat();
    Run d = Direct(engine, model, dir.path() / ("direct-" + std::to_string(i + 1) + ".log"), first);
    if (i < 0) continue;
    ours.push_back(std::move(s));
    direct.push_back(std::move(d));
  }

  std::printf("\n\"What's 2+2?\" from a stopped model to the answer, %d runs each, alternating (ms)\n", a.runs);
  std::printf(" llmdesk serve, POST /api/chat -> `done`:\n");
  PrintMsRow("wall", Of(ours, [](const Run& r) { return r.wall; }), 1);
  PrintMsRow("engine load (its log: \"model loaded\")", Of(ours, [](const Run& r) { return r.engine.load_ms; }), 1);
  PrintMsRow("engine generation (prompt eval + eval, 2 requests)",
             Of(ours, [](const Run& r) { return r.engine.generation_ms(); }), 1);
  PrintMsRow("OVERHEAD: wall - load - generation", Of(ours, [](const Run& r) { return r.overhead(); }), 1);
  PrintMsRow("CPU time of `llmdesk serve` during the chat (10 ms ticks)", Of(ours, [](const Run& r) { return r.serve_cpu_ms; }), 1);
  // Where the overhead goes: the time between events, less the engine's own share of it.
  auto phase = [](const std::vector<Run>& runs, const char* what, const std::function<std::optional<double>(const Run&)>& f) {
    Samples v;
    for (const auto& r : runs)
      if (auto x = f(r)) v.push_back(*x);
    PrintMsRow(what, v, 1);
  };
  auto between = [](const Run& r, const char* a, const char* b) -> std::optional<double> {
    auto x = r.at.find(a), y = r.at.find(b);
    if (x == r.at.end() || y == r.at.end()) return std::nullopt;
    return y->second - x->second;
  };
  auto gen = [](const Run& r, size_t k) { return k < r.engine.per_request_ms.size() ? r.engine.per_request_ms[k] : 0.0; };
  std::printf("  where it goes (ms; n < runs where an event did not come):\n");
  phase(ours, "  request -> backend starting (event; after fork + exec)", [](const Run& r) { return r.at.count("backend starting") ? std::optional(r.at.at("backend starting")) : std::nullopt; });
  phase(ours, "  starting -> ready, less the engine's load", [&](const Run& r) {
    auto d = between(r, "backend starting", "backend ready");
    return d ? std::optional(*d - r.engine.load_ms) : std::nullopt; });
  phase(ours, "  starting -> request_sent 1, less the engine's load", [&](const Run& r) {
    auto d = between(r, "backend starting", "request_sent 1");
    return d ? std::optional(*d - r.engine.load_ms) : std::nullopt; });
  phase(ours, "  model turn 1 (request_sent 1 -> tool_call), less generation", [&](const Run& r) {
    auto d = between(r, "request_sent 1", "tool_call");
    return d ? std::optional(*d - gen(r, 0)) : std::nullopt; });
  phase(ours, "  tool_call -> request_sent 2 (the MCP call)", [&](const Run& r) { return between(r, "tool_call", "request_sent 2"); });
  phase(ours, "  model turn 2 (request_sent 2 -> final), less generation", [&](const Run& r) {
    auto d = between(r, "request_sent 2", "final");
    return d ? std::optional(*d - gen(r, 1)) : std::nullopt; });
  phase(ours, "  final -> done", [&](const Run& r) { return between(r, "final", "done"); });
  std::printf(" baseline: llama-server spawned directly, /health every 2 ms, the same two requests (plain client):\n");
  PrintMsRow("wall", Of(direct, [](const Run& r) { return r.wall; }), 1);
  PrintMsRow("engine load (its log: \"model loaded\")", Of(direct, [](const Run& r) { return r.engine.load_ms; }), 1);
  PrintMsRow("engine generation (log)", Of(direct, [](const Run& r) { return r.engine.generation_ms(); }), 1);
  PrintMsRow("engine generation (responses' `timings`)", Of(direct, [](const Run& r) { return r.engine.timings_ms; }), 1);
  PrintMsRow("overhead: wall - load - generation", Of(direct, [](const Run& r) { return r.overhead(); }), 1);
  std::printf("  where it goes (ms):\n");
  PrintMsRow("  fork + exec (spawn() returns after the exec)", Of(direct, [](const Run& r) { return r.at.at("spawned"); }), 1);
  PrintMsRow("  exec'd -> /health 200, less the engine's load",
             Of(direct, [](const Run& r) { return r.at.at("healthy") - r.at.at("spawned") - r.engine.load_ms; }), 1);
  PrintMsRow("  request 1, less generation", Of(direct, [&](const Run& r) { return r.at.at("answer 1") - r.at.at("healthy") - gen(r, 0); }), 1);
  PrintMsRow("  request 2, less generation", Of(direct, [&](const Run& r) { return r.wall - r.at.at("answer 1") - gen(r, 1); }), 1);

  const double ours50 = Percentile(Of(ours, [](const Run& r) { return r.overhead(); }), 50);
  const double base50 = Percentile(Of(direct, [](const Run& r) { return r.overhead(); }), 50);
  std::printf("\nstack overhead beyond the engine's own load and generation: p50 %.1f ms (goal <= 50 ms: %s)\n", ours50,
              Verdict(ours50 <= 50));
  std::printf("of which a plain client pays too (baseline p50 %.1f ms): llmdesk adds %.1f ms over a plain client\n",
              base50, ours50 - base50);
  std::printf("%s\n", MachineLoad().c_str());
  return 0;
}

}  // namespace llmdesk::bench
