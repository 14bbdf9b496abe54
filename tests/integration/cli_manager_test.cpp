// `llmdesk up / serve / status / start / stop / restart / ports` end to end: real llmdesk processes, the
// real llama-server with a generated model, real sockets on 127.0.0.1 with ports drawn per test below
// the ephemeral range, and each test's own XDG dirs (lock, state, logs).
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "integration/cli_manager_helpers.h"
#include "support/child_process.h"
#include "config/config.h"
#include "manager/manager.h"
#include "net/http_server.h"
#include "net/ports.h"

namespace llmdesk::test {
namespace {

using Json = nlohmann::json;
constexpr const char* kHolderCommand = "llmdesk-fake-engine --listen-only";

struct Engine {
  std::filesystem::path exe, model;
};

// The engine every test runs: the real llama-server with a generated GGUF. Both are built by
// scripts/setup; when either is missing the tests fail (never fall back to a stand-in, never skip).
const Engine& TestEngine() {
  static TempDir dir;  // lives as long as the test binary; holds the generated model
  static const Engine engine = [] {
    Engine e{LlamaServerPath(), dir.path() / "tiny.gguf"};
    auto r = RunCommand({BinPath("llmdesk-testmodel").string(), "--out", e.model.string()}, 120s);
    if (r.exit_code != 0 || !std::filesystem::exists(e.model))
      throw std::runtime_error("llmdesk-testmodel could not make a model (run scripts/setup): " + r.err);
    if (!std::filesystem::exists(e.exe)) throw std::runtime_error("no llama-server at " + e.exe.string() +
                                                                   " (run scripts/setup)");
    return e;
  }();
  return engine;
}

class CliManager : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_THROW(engine_ = &TestEngine());
    // gateway, tool server, then the model's port and its fallback range: all below the ephemeral range.
    const int base = FreePortRange(kPortsUsed);
    gateway_ = base;
    tool_port_ = base + 1;
    port_ = base + 2;
    env_ = ScratchEnv(dir_.path());
  }

  static constexpr int kPortsUsed = 24;
  // A config with one model `m` on port_ (fallback range up to the end of this test's ports) and the
  // gateway on gateway_.
  std::string WriteConfig(const std::string& on_conflict = "fallback", const std::string& token = "") {
    std::string yaml = "engine:\n  llama_server: " + engine_->exe.string() + "\n" +
                       "gateway: {host: 127.0.0.1, port: " + std::to_string(gateway_) +
                       (token.empty() ? "" : ", token: " + token) + "}\n" +
                       "tool_server: {port: " + std::to_string(tool_port_) + "}\n" +
                       "ports:\n  on_conflict: " + on_conflict + "\n  range: " + std::to_string(port_) + "-" +
                       std::to_string(gateway_ + kPortsUsed - 1) + "\n" +
                       "models:\n  m:\n    model: " + engine_->model.string() + "\n    port: " + std::to_string(port_) +
                       "\n    args: [--ctx-size, \"256\"]\n    stop_grace: 5\n    startup_timeout: 120\n";
    return dir_.Write("llm_backends.yaml", yaml).string();
  }

  std::unique_ptr<Proc> Llmdesk(std::vector<std::string> args) {
    args.insert(args.begin(), {BinPath("llmdesk").string(), "--config", (dir_.path() / "llm_backends.yaml").string()});
    return std::make_unique<Proc>(args, env_);
  }
  CommandResult RunLlmdesk(std::vector<std::string> args) {
    auto p = Llmdesk(std::move(args));
    auto code = p->Wait(60s);
    return {code.value_or(-1), p->Output(), ""};
  }
  // A foreign listener on `port` (llmdesk-fake-engine --listen-only).
  std::unique_ptr<ChildProcess> Holder(int port) { return HoldPort(dir_.path(), port); }
  static int HttpStatus(int port, const std::string& method, const std::string& path, httplib::Headers h = {}) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10s);
    auto r = method == "POST" ? c.Post(path.c_str(), h, "", "application/json") : c.Get(path.c_str(), h);
    return r ? r->status : -1;
  }
  static Json GetJson(int port, const std::string& path) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10s);
    auto r = c.Get(path.c_str());
    return r && r->status == 200 ? Json::parse(r->body, nullptr, false) : Json();
  }
  // `llmdesk serve` whose control API answers and whose backend m is ready.
  std::unique_ptr<Proc> Serve() {
    auto serve = Llmdesk({"serve", "m"});
    EXPECT_TRUE(serve->WaitFor("control API at http://127\\.0\\.0\\.1:" + std::to_string(gateway_))) << serve->Output();
    EXPECT_TRUE(serve->WaitFor("m +starting -> ready")) << serve->Output();
    return serve;
  }

  const Engine* engine_ = nullptr;
  TempDir dir_;
  int gateway_ = 0, tool_port_ = 0, port_ = 0;
  std::map<std::string, std::string> env_;
};

TEST_F(CliManager, UpFallsBackFromHeldPortNamesHolderAndCtrlCLeavesNoEngine) {
  auto holder = Holder(port_);
  WriteConfig("fallback");
  auto up = Llmdesk({"up", "m"});
  auto ready = up->WaitFor("m +starting -> ready +port (\\d+) +pid (\\d+)");
  ASSERT_TRUE(ready) << up->Output();
  int actual = std::stoi((*ready)[1]);
  pid_t engine = std::stoi((*ready)[2]);
  EXPECT_NE(actual, port_);
  std::string out = up->Output();
  EXPECT_NE(out.find("PID " + std::to_string(holder->pid())), std::string::npos) << out;
  EXPECT_NE(out.find(kHolderCommand), std::string::npos) << out;
  EXPECT_EQ(HttpStatus(actual, "GET", "/health"), 200);

  up->Signal(SIGINT);
  EXPECT_EQ(up->Wait(60s), 0) << up->Output();
  EXPECT_TRUE(GoneWithin(engine, 2s)) << "engine " << engine << " survived `llmdesk up` + Ctrl-C";
}

TEST_F(CliManager, OnConflictFailExitsNonZeroNamingHolder) {
  auto holder = Holder(port_);
  WriteConfig("fail");
  auto up = Llmdesk({"up", "m"});
  auto code = up->Wait(120s);
  std::string out = up->Output();
  ASSERT_TRUE(code.has_value()) << out;
  EXPECT_NE(*code, 0) << out;
  EXPECT_NE(out.find("PID " + std::to_string(holder->pid())), std::string::npos) << out;
  EXPECT_NE(out.find(kHolderCommand), std::string::npos) << out;
}

TEST_F(CliManager, PortsJsonReportsHolderPid) {
  auto holder = Holder(port_);
  WriteConfig();
  auto r = RunLlmdesk({"ports", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  Json ports = Json::parse(r.out, nullptr, false);
  ASSERT_TRUE(ports.is_array()) << r.out;
  bool found = false;
  for (const auto& p : ports) {
    if (p.value("port", 0) != port_) continue;
    found = true;
    EXPECT_EQ(p.value("owner", ""), "other");
    EXPECT_EQ(p.value("pid", 0), holder->pid());
    EXPECT_NE(p.value("command", "").find(kHolderCommand), std::string::npos);
    EXPECT_EQ(p["used_by"], Json::array({"model m"}));
  }
  EXPECT_TRUE(found) << r.out;
}

TEST_F(CliManager, SecondUpOnSameConfigRefusesNamingFirst) {
  WriteConfig();
  auto first = Llmdesk({"up", "m"});
  ASSERT_TRUE(first->WaitFor("m +starting -> ready")) << first->Output();
  auto second = RunLlmdesk({"up", "m"});
  EXPECT_EQ(second.exit_code, 1) << second.out;
  EXPECT_NE(second.out.find(std::to_string(first->pid())), std::string::npos) << second.out;
  first->Signal(SIGTERM);
  EXPECT_EQ(first->Wait(60s), 0) << first->Output();
}

TEST_F(CliManager, WithoutDaemonStatusListsConfiguredAndActionsRefuse) {
  WriteConfig();
  auto status = RunLlmdesk({"status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.out;
  Json j = Json::parse(status.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << status.out;
  EXPECT_TRUE(j["daemon"].is_null());
  ASSERT_EQ(j["backends"].size(), 1u);
  EXPECT_EQ(j["backends"][0].value("state", ""), "stopped");
  EXPECT_EQ(j["backends"][0].value("configured_port", 0), port_);
  auto text = RunLlmdesk({"status"});
  EXPECT_NE(text.out.find("no llmdesk serve is running"), std::string::npos) << text.out;
  auto start = RunLlmdesk({"start", "m"});
  EXPECT_EQ(start.exit_code, 1);
  EXPECT_NE(start.out.find("no llmdesk serve is running; start one with `llmdesk serve`"), std::string::npos) << start.out;
}

TEST_F(CliManager, BadConfigExitsTwoAndStartsNothing) {
  dir_.Write("llm_backends.yaml", "models:\n  m:\n    port: not-a-port\n");
  auto up = RunLlmdesk({"up"});
  EXPECT_EQ(up.exit_code, 2) << up.out;
  WriteConfig();
  auto unknown = RunLlmdesk({"up", "nope"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out;
  EXPECT_NE(unknown.out.find("no backend named 'nope'"), std::string::npos) << unknown.out;
}

TEST_F(CliManager, ServeControlsBackendsThroughCliAndApi) {
  WriteConfig();
  auto serve = Serve();
  EventReader events(gateway_);

  // The stream opens with the current state of every backend.
  ASSERT_TRUE(events.WaitState("m", "ready")) << serve->Output();

  auto status = RunLlmdesk({"status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.out;
  Json j = Json::parse(status.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << status.out;
  EXPECT_EQ(j["daemon"].value("pid", 0), serve->pid());
  EXPECT_EQ(j["backends"][0].value("state", ""), "ready");
  EXPECT_EQ(j["backends"][0].value("port", 0), port_);

  // CLI: stop, start, restart — each observed as state events on /api/events.
  size_t mark = events.count();
  EXPECT_EQ(RunLlmdesk({"stop", "m"}).exit_code, 0);
  ASSERT_TRUE(events.WaitState("m", "stopped", mark));
  EXPECT_EQ(GetJson(gateway_, "/api/backends/m").value("state", ""), "stopped");
  mark = events.count();
  EXPECT_EQ(RunLlmdesk({"start", "m"}).exit_code, 0);
  ASSERT_TRUE(events.WaitState("m", "ready", mark));
  mark = events.count();
  EXPECT_EQ(RunLlmdesk({"restart", "m"}).exit_code, 0);
  ASSERT_TRUE(events.WaitState("m", "stopping", mark));
  ASSERT_TRUE(events.WaitState("m", "ready", mark));

  // API: 202 on valid transitions, 409 on invalid ones, 404 on unknown names.
  mark = events.count();
  EXPECT_EQ(HttpStatus(gateway_, "POST", "/api/backends/m/stop"), 202);
  ASSERT_TRUE(events.WaitState("m", "stopped", mark));
  EXPECT_EQ(HttpStatus(gateway_, "POST", "/api/backends/m/stop"), 409);
  mark = events.count();
  EXPECT_EQ(HttpStatus(gateway_, "POST", "/api/backends/m/start"), 202);
  ASSERT_TRUE(events.WaitState("m", "ready", mark));
  mark = events.count();
  EXPECT_EQ(HttpStatus(gateway_, "POST", "/api/backends/m/restart"), 202);
  ASSERT_TRUE(events.WaitState("m", "ready", mark));

  // Logs: the tail through the CLI, and `logs -f` (SSE) sees the lines of a restart as they come.
  auto tail = RunLlmdesk({"logs", "m", "-n", "3"});
  EXPECT_EQ(tail.exit_code, 0) << tail.out;
  EXPECT_EQ(std::count(tail.out.begin(), tail.out.end(), '\n'), 3) << tail.out;
  auto follow = Llmdesk({"logs", "m", "-f", "-n", "1"});
  ASSERT_TRUE(follow->WaitFor("\n")) << follow->Output();
  mark = events.count();
  EXPECT_EQ(HttpStatus(gateway_, "POST", "/api/backends/m/restart"), 202);
  ASSERT_TRUE(events.WaitState("m", "ready", mark));
  EXPECT_TRUE(follow->WaitFor("(.*\n){5}")) << follow->Output();
  follow.reset();

  EXPECT_EQ(HttpStatus(gateway_, "POST", "/api/backends/nope/start"), 404);
  EXPECT_EQ(HttpStatus(gateway_, "GET", "/api/backends/nope"), 404);
  Json list = GetJson(gateway_, "/api/backends");
  ASSERT_TRUE(list.is_array());
  EXPECT_EQ(list[0].value("name", ""), "m");
  int port = list[0].value("port", 0);
  EXPECT_EQ(HttpStatus(port, "GET", "/health"), 200);

  // Logs, ports, health; DNS-rebinding protection.
  Json logs = GetJson(gateway_, "/api/backends/m/logs?lines=5");
  ASSERT_TRUE(logs["lines"].is_array()) << logs.dump();
  EXPECT_EQ(logs["lines"].size(), 5u) << logs.dump();  // the engine printed far more than 5 lines by now
  bool ours = false;
  for (const auto& p : GetJson(gateway_, "/api/ports")) ours |= p.value("port", 0) == port && p.value("owner", "") == "ours";
  EXPECT_TRUE(ours);
  EXPECT_EQ(HttpStatus(gateway_, "GET", "/health"), 200);
  EXPECT_EQ(HttpStatus(gateway_, "GET", "/api/backends", {{"Origin", "http://evil.example.com"}}), 403);
  EXPECT_EQ(HttpStatus(gateway_, "GET", "/health", {{"Host", "evil.example.com"}}), 403);
  EXPECT_EQ(HttpStatus(gateway_, "GET", "/api/backends", {{"Origin", "http://localhost:5173"}}), 200);

  // Ctrl-C ends the SSE stream and stops the engine.
  pid_t engine = list[0].value("pid", 0);
  serve->Signal(SIGINT);
  EXPECT_EQ(serve->Wait(60s), 0) << serve->Output();
  EXPECT_TRUE(events.WaitEnded(10s));
  EXPECT_TRUE(GoneWithin(engine, 2s));

  // Without a daemon, `logs` reads the log file the manager wrote.
  auto from_file = RunLlmdesk({"logs", "m", "-n", "2"});
  EXPECT_EQ(from_file.exit_code, 0) << from_file.out;
  EXPECT_EQ(std::count(from_file.out.begin(), from_file.out.end(), '\n'), 2) << from_file.out;
}

TEST_F(CliManager, ServeRefusesWhenTheApiPortIsHeldAndNamesTheHolder) {
  auto holder = Holder(gateway_);
  WriteConfig();
  auto serve = RunLlmdesk({"serve", "m"});
  EXPECT_EQ(serve.exit_code, 1) << serve.out;
  EXPECT_NE(serve.out.find("PID " + std::to_string(holder->pid())), std::string::npos) << serve.out;
  EXPECT_EQ(serve.out.find("-> ready"), std::string::npos) << "nothing should start: " << serve.out;
}

TEST_F(CliManager, GatewayTokenGuardsTheApiAndTheCliSendsIt) {
  WriteConfig("fallback", "s3cret");
  auto serve = Serve();
  EXPECT_EQ(HttpStatus(gateway_, "GET", "/api/backends"), 401);
  EXPECT_EQ(HttpStatus(gateway_, "GET", "/api/backends", {{"Authorization", "Bearer wrong"}}), 401);
  EXPECT_EQ(HttpStatus(gateway_, "GET", "/api/backends", {{"Authorization", "Bearer s3cret"}}), 200);
  auto status = RunLlmdesk({"status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.out;
  EXPECT_EQ(Json::parse(status.out, nullptr, false)["daemon"].value("pid", 0), serve->pid()) << status.out;
  serve->Signal(SIGINT);
  EXPECT_EQ(serve->Wait(60s), 0) << serve->Output();
}

TEST_F(CliManager, KillNineOfServeLeavesNoEngineAndNextServeStartsClean) {
  WriteConfig();
  pid_t engine = 0;
  {
    auto serve = Serve();
    Json m = GetJson(gateway_, "/api/backends/m");
    engine = m.value("pid", 0);
    ASSERT_GT(engine, 0) << m.dump();
    ASSERT_TRUE(ProcessAlive(engine));
    serve->Signal(SIGKILL);
    ASSERT_TRUE(serve->Wait(10s).has_value()) << "llmdesk serve outlived SIGKILL for 10 s";
  }
  EXPECT_TRUE(GoneWithin(engine, 2s)) << "engine " << engine << " outlived a kill -9 of llmdesk serve";

  auto next = Serve();
  Json m = GetJson(gateway_, "/api/backends/m");
  EXPECT_EQ(m.value("state", ""), "ready") << next->Output();
  EXPECT_EQ(m.value("port", 0), port_) << "the configured port should be free again: " << next->Output();
  EXPECT_EQ(RunLlmdesk({"status"}).exit_code, 0);
  next->Signal(SIGTERM);
  EXPECT_EQ(next->Wait(60s), 0) << next->Output();
}

}  // namespace
}  // namespace llmdesk::test

namespace llmdesk::test {
namespace {

// `llmdesk logs NAME` without a daemon reads the file the manager writes for that name, whose characters
// the manager escapes: a name with ':' must not be looked up under a different (unescaped) file.
TEST_F(CliManager, LogsOfANameWithAColonReadTheManagersFile) {
  std::string yaml = "engine:\n  llama_server: " + engine_->exe.string() + "\nmodels:\n  \"a:b\":\n    model: " +
                     engine_->model.string() + "\n    port: " + std::to_string(port_) + "\n";
  auto config_path = dir_.Write("llm_backends.yaml", yaml);
  auto loaded = config::LoadFile(config_path, config::ProcessEnv());
  ASSERT_TRUE(loaded.ok()) << (loaded.errors().empty() ? "" : loaded.errors()[0].ToString());
  const auto logs = dir_.path() / "state" / "llmdesk" / "logs";
  const auto real = manager::LogFilePath(loaded.config, "a:b", logs);
  std::filesystem::create_directories(real.parent_path());
  std::ofstream(real) << "first line\nwritten by the manager for a:b\n";
  std::ofstream(logs / "a:b.log") << "a decoy at the unescaped name\n";
  auto r = RunLlmdesk({"logs", "a:b", "-n", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "written by the manager for a:b\n");
}

// A second Ctrl-C does not wait for the stop grace: an engine that ignores SIGTERM (stop_grace 60 s) is
// killed at once, and `up` exits within seconds.
TEST_F(CliManager, ASecondCtrlCKillsAnEngineThatIgnoresSigterm) {
  std::string yaml = "engine:\n  llama_server: " + BinPath("llmdesk-fake-engine").string() + "\n" +
                     "gateway: {port: " + std::to_string(gateway_) + "}\ntool_server: {port: " +
                     std::to_string(tool_port_) + "}\nmodels:\n  m:\n    model: " + engine_->model.string() +
                     "\n    port: " + std::to_string(port_) + "\n    args: [--ignore-sigterm]\n    stop_grace: 60\n";
  dir_.Write("llm_backends.yaml", yaml);
  auto up = Llmdesk({"up", "m"});
  auto ready = up->WaitFor("m +starting -> ready +port \\d+ +pid (\\d+)");
  ASSERT_TRUE(ready) << up->Output();
  const pid_t engine = std::stoi((*ready)[1]);
  up->Signal(SIGINT);
  ASSERT_TRUE(up->WaitFor("ready -> stopping")) << up->Output();
  const auto second = std::chrono::steady_clock::now();
  up->Signal(SIGINT);
  auto code = up->Wait(30s);
  ASSERT_TRUE(code.has_value()) << "up still waits for the 60 s grace after a second Ctrl-C: " << up->Output();
  EXPECT_LT(std::chrono::steady_clock::now() - second, 15s) << up->Output();
  EXPECT_TRUE(GoneWithin(engine, 2s)) << up->Output();
  EXPECT_NE(up->Output().find("second signal"), std::string::npos) << up->Output();
}

// The CLI sends its gateway token only to llmdesk: a process that answers /health like llmdesk on the
// gateway port but is another program (this test binary) never sees it.
TEST_F(CliManager, TheTokenIsNeverSentToAPortHeldBySomethingElse) {
  std::mutex mu;
  std::vector<std::string> auth_headers;
  net::HttpServer impostor({.host = "127.0.0.1", .port = gateway_, .token = ""});
  auto record = [&](net::Request& req) {
    std::lock_guard lock(mu);
    auth_headers.push_back(req.Header("Authorization"));
  };
  impostor.Route("GET", "/health", [&](net::Request& req) {
    record(req);
    return net::Response::Json(200, {{"status", "ok"}, {"service", "llmdesk"}, {"pid", 1}});
  });
  impostor.Route("GET", "/api/backends", [&](net::Request& req) {
    record(req);
    return net::Response::Json(200, Json::array());
  });
  ASSERT_TRUE(impostor.Bind().ok());
  ASSERT_TRUE(impostor.Start().ok());
  WriteConfig("fallback", "s3cret");
  auto status = RunLlmdesk({"status"});
  EXPECT_NE(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("which is not llmdesk; the gateway token is not sent to it"), std::string::npos)
      << status.out;
  impostor.Stop();
  std::lock_guard lock(mu);
  for (const auto& h : auth_headers) EXPECT_EQ(h, "") << "the token reached a program that is not llmdesk";
  EXPECT_FALSE(auth_headers.empty()) << "the CLI did not even ask /health";
}

}  // namespace
}  // namespace llmdesk::test
