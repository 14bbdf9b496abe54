// Issue 14 end to end, with real processes on 127.0.0.1: two `llmdesk rpc-worker` processes and the real
// llama-server loading a generated model split over them (`rpc:`); kill -9 of a worker mid-generation fails
// the backend naming that worker, and it recovers once the worker is back; a `url:` backend that is a second
// `llmdesk serve` (its gateway behind a token, given as api_key) answers a chat through the first, shows in
// `llmdesk status`, and its health check notices when it goes away.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <fstream>
#include <regex>

#include "control/control.h"
#include "integration/cli_manager_helpers.h"
#include "integration/gateway_fixture.h"

namespace llmdesk::test {
namespace {

using ::testing::HasSubstr;

Json Ask(const std::string& model) {
  return {{"model", model}, {"max_tokens", 16}, {"messages", {{{"role", "user"}, {"content", "Hello?"}}}}};
}

// The sizes of the buffers a worker allocated ("[alloc_buffer] device: 0, size: N -> ..." with --verbose).
std::vector<long long> AllocatedBuffers(const std::string& output) {
  std::vector<long long> sizes;
  static const std::regex line(R"(\[alloc_buffer\] device: \d+, size: (\d+) -> remote_ptr)");
  for (std::sregex_iterator it(output.begin(), output.end(), line), end; it != end; ++it)
    sizes.push_back(std::stoll((*it)[1]));
  return sizes;
}

std::string CommandLine(pid_t pid) {
  std::string cmd = ReadFileBytes("/proc/" + std::to_string(pid) + "/cmdline");
  for (auto& c : cmd) c = c == '\0' ? ' ' : c;
  return cmd;
}

class RpcTest : public GatewayTest {
 protected:
  void SetUp() override {
    env_ = ScratchEnv(dir_.path());
    ports_ = FreePortRange(6);
  }

  // `llmdesk rpc-worker --port PORT --verbose` (the engine from scripts/setup), once it says it is ready.
  std::unique_ptr<Proc> StartWorker(int port) {
    const auto config = dir_.Write("worker.yaml", "engine:\n  llama_server: " + LlamaServerPath().string() + "\n");
    auto worker = std::make_unique<Proc>(std::vector<std::string>{BinPath("llmdesk").string(), "--config", config.string(),
                                                                  "rpc-worker", "--port", std::to_string(port), "--verbose"},
                                         env_);
    EXPECT_TRUE(worker->WaitFor("ready at 127\\.0\\.0\\.1:" + std::to_string(port), 60s)) << worker->Output();
    return worker;
  }
  std::string Worker(int port) { return "127.0.0.1:" + std::to_string(port); }
  // The model split over both workers. `-fit off`: llama-server's fit step makes trial loads, each a few
  // thousand RPC round trips, which on 2 loaded cores costs a minute; the split itself is the same.
  std::string SplitModel(const std::string& name, const std::string& path) {
    return "  " + name + ":\n    model: " + path + "\n    args: [--ctx-size, \"1024\", -fit, \"off\"]\n" +
           "    startup_timeout: 300\n    rpc: [" + Worker(worker1_) + ", " + Worker(worker2_) + "]\n";
  }

  std::map<std::string, std::string> env_;
  int ports_ = 0;
  int worker1_ = 0, worker2_ = 0;
};

TEST_F(RpcTest, AModelSplitOverTwoWorkersAnswersAndTheWorkersHoldItsLayers) {
  worker1_ = ports_, worker2_ = ports_ + 1;
  const std::string model = MakeModel("split", {"--text", "Hello over RPC", "--layers", "4"});
  auto w1 = StartWorker(worker1_);
  auto w2 = StartWorker(worker2_);
  StartStack(SplitModel("split", model));

  auto answer = Post("/v1/chat/completions", Ask("split"));
  ASSERT_EQ(answer.status, 200) << answer.body << "\n" << w1->Output().substr(0, 3000);
  EXPECT_EQ(Parse(answer.body)["choices"][0]["message"]["content"], "Hello over RPC") << answer.body;

  // The engine was given both workers, and each worker held model weights: it allocated buffers for the
  // engine and received tensors into them.
  auto status = stack_->manager().Get("split");
  ASSERT_TRUE(status.ok());
  EXPECT_THAT(CommandLine(status->pid), HasSubstr("--rpc " + Worker(worker1_) + "," + Worker(worker2_)));
  for (Proc* w : {w1.get(), w2.get()}) {
    const std::string out = w->Output();
    EXPECT_THAT(out, HasSubstr("Accepted client connection"));
    auto buffers = AllocatedBuffers(out);
    ASSERT_FALSE(buffers.empty()) << "the worker allocated nothing:\n" << out.substr(0, 4000);
    EXPECT_GT(*std::max_element(buffers.begin(), buffers.end()), 64 * 1024) << "a buffer big enough for a layer";
    EXPECT_THAT(out, HasSubstr("[set_tensor]")) << "weights were sent to the worker";
    EXPECT_THAT(out, HasSubstr("[graph_compute]")) << "the worker computed its part of the answer";
  }

  // Status (manager, control API JSON the desktop app reads, the CLI's table) names both workers.
  ASSERT_EQ(status->rpc_workers.size(), 2u);
  EXPECT_EQ(status->rpc_workers[0].address, Worker(worker1_));
  EXPECT_EQ(status->rpc_workers[0].state, "answering");
  EXPECT_THAT(status->rpc_workers[1].detail, HasSubstr("protocol 6."));
  auto json = Send("GET", "/api/backends/split");
  ASSERT_EQ(json.status, 200);
  Json backend = Parse(json.body);
  ASSERT_EQ(backend["rpc_workers"].size(), 2u) << json.body;
  EXPECT_EQ(backend["rpc_workers"][1]["address"], Worker(worker2_));
  auto parsed = control::BackendStatusFromJson(backend);
  ASSERT_TRUE(parsed.ok());
  const std::string table = control::FormatStatusTable({*parsed});
  EXPECT_THAT(table, HasSubstr("rpc " + Worker(worker1_)));
  EXPECT_THAT(table, HasSubstr("in use"));
}

TEST_F(RpcTest, AMissingWorkerIsNamedBeforeTheEngineStarts) {
  worker1_ = ports_, worker2_ = ports_ + 1;
  const std::string model = MakeModel("split", {"--text", "unused"});
  auto w1 = StartWorker(worker1_);  // the second one is not there
  StartStack(SplitModel("split", model));
  auto answer = Post("/v1/chat/completions", Ask("split"));
  EXPECT_EQ(answer.status, 503) << answer.body;
  EXPECT_THAT(answer.body, HasSubstr("RPC worker " + Worker(worker2_) + " does not answer"));
  auto status = stack_->manager().Get("split");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, manager::State::kFailed);
  EXPECT_THAT(status->reason, HasSubstr("RPC worker " + Worker(worker2_) + " does not answer: connection refused"));
  EXPECT_EQ(status->rpc_workers.at(0).state, "answering");
  EXPECT_EQ(status->rpc_workers.at(1).state, "unreachable");
  EXPECT_EQ(CountProcesses(model), 0) << "no engine was started";
}

TEST_F(RpcTest, KillingAWorkerMidGenerationFailsTheBackendNamingItAndItRecoversWhenTheWorkerIsBack) {
  worker1_ = ports_, worker2_ = ports_ + 1;
  const std::string model = MakeModel("rambler", {"--seed", "3", "--layers", "4"});
  auto w1 = StartWorker(worker1_);
  auto w2 = StartWorker(worker2_);
  StartStack(SplitModel("rambler", model));
  ASSERT_EQ(Post("/v1/chat/completions", Ask("rambler")).status, 200);

  bool killed = false;
  const Json long_stream = {{"model", "rambler"}, {"stream", true}, {"max_tokens", 20000}, {"ignore_eos", true},
                            {"messages", {{{"role", "user"}, {"content", "Tell me a long story."}}}}};
  std::string sse = PostStream("/v1/chat/completions", long_stream, [&](std::string_view chunk) {
    if (!killed && chunk.find("content") != std::string_view::npos) {
      killed = true;
      w1->Signal(SIGKILL);  // the worker process; its ggml-rpc-server dies with it (PR_SET_PDEATHSIG)
    }
    return true;
  });
  ASSERT_TRUE(killed);
  auto events = Events(sse);
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events.back().is_object() && events.back().contains("error")) << sse.substr(sse.size() > 800 ? sse.size() - 800 : 0);

  auto failed = stack_->manager().WaitUntil("rambler", [](const auto& s) { return s.state == manager::State::kFailed; }, 90s);
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->state, manager::State::kFailed) << failed->reason;
  EXPECT_THAT(failed->reason, HasSubstr("RPC worker " + Worker(worker1_) + " does not answer"));
  EXPECT_EQ(failed->rpc_workers.at(0).state, "unreachable");
  EXPECT_EQ(CountProcesses(model), 0);

  // The worker is back (same address): the next request starts the backend again and is answered.
  w1->Wait(10s);
  w1 = StartWorker(worker1_);
  auto again = Post("/v1/chat/completions", Ask("rambler"));
  EXPECT_EQ(again.status, 200) << again.body;
  auto status = stack_->manager().Get("rambler");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, manager::State::kReady);
  EXPECT_EQ(status->rpc_workers.at(0).state, "answering");
}

TEST_F(RpcTest, RpcWorkerRefusesAHeldPortNamingTheHolderAndWarnsOffLoopback) {
  int port = 0;
  UniqueFd held = BindLoopbackSocket(port);
  ASSERT_EQ(listen(held.get(), 1), 0);
  const auto config = dir_.Write("worker.yaml", "engine:\n  llama_server: " + LlamaServerPath().string() + "\n");
  auto r = RunCommand({"env", "XDG_RUNTIME_DIR=" + env_["XDG_RUNTIME_DIR"], "XDG_STATE_HOME=" + env_["XDG_STATE_HOME"],
                       BinPath("llmdesk").string(), "--config", config.string(), "rpc-worker", "--port", std::to_string(port)},
                      60s);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("port " + std::to_string(port) + " is held by PID " + std::to_string(getpid())));

  r = RunCommand({BinPath("llmdesk").string(), "rpc-worker", "--host", "localhost"}, 30s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--host must be an IPv4 address"));

  // Off loopback: the loud warning comes first. (0.0.0.0 on a free port; stopped at once.)
  const int free_port = ports_ + 2;
  Proc exposed({BinPath("llmdesk").string(), "--config", config.string(), "rpc-worker", "--host", "0.0.0.0", "--port",
                std::to_string(free_port)},
               env_);
  EXPECT_TRUE(exposed.WaitFor("ready at 0\\.0\\.0\\.0:" + std::to_string(free_port), 60s)) << exposed.Output();
  EXPECT_THAT(exposed.Output(), HasSubstr("NO authentication"));
  exposed.Signal(SIGTERM);
  EXPECT_EQ(exposed.Wait(20s).value_or(-1), 0) << exposed.Output();
}

TEST_F(RpcTest, AUrlBackendIsASecondLlmdeskThroughItsGatewayAndShowsInStatus) {
  const std::string model = MakeModel("hello", {"--text", "Hello from the other llmdesk"});
  const int far_gateway = ports_, far_tools = ports_ + 1, far_engine = ports_ + 2;
  const int near_gateway = ports_ + 3, near_tools = ports_ + 4;
  const std::string engine = "engine:\n  llama_server: " + LlamaServerPath().string() + "\n";
  TempDir far_dir;  // the second llmdesk: its own state, logs and lock
  auto far_env = ScratchEnv(far_dir.path());
  const auto far_config = far_dir.Write(
      "far.yaml", engine + "gateway: {host: 127.0.0.1, port: " + std::to_string(far_gateway) + ", token: far-secret}\n" +
                      "tool_server: {port: " + std::to_string(far_tools) + ", tools: [calculator]}\n" +
                      "ports:\n  range: " + std::to_string(far_engine) + "-" + std::to_string(far_engine) + "\n" +
                      "models:\n  shared:\n    model: " + model + "\n    args: [--ctx-size, \"1024\"]\n    startup_timeout: 120\n");
  auto far = std::make_unique<Proc>(std::vector<std::string>{BinPath("llmdesk").string(), "--config", far_config.string(), "serve"},
                                    far_env);
  ASSERT_TRUE(far->WaitFor("control API at http://127\\.0\\.0\\.1:" + std::to_string(far_gateway))) << far->Output();

  const auto near_config = dir_.Write(
      "near.yaml", engine + "gateway: {host: 127.0.0.1, port: " + std::to_string(near_gateway) + "}\n" +
                       "tool_server: {port: " + std::to_string(near_tools) + ", tools: [calculator]}\n" +
                       "models:\n  shared:\n    url: http://127.0.0.1:" + std::to_string(far_gateway) + "/v1\n" +
                       "    api_key: ${FAR_KEY}\n");
  auto near_env = env_;
  near_env["FAR_KEY"] = "far-secret";
  Proc near({BinPath("llmdesk").string(), "--config", near_config.string(), "serve"}, near_env);
  ASSERT_TRUE(near.WaitFor("control API at http://127\\.0\\.0\\.1:" + std::to_string(near_gateway))) << near.Output();
  // Checked at once, with the key (the far gateway answers 401 without it).
  ASSERT_TRUE(near.WaitFor("shared +starting -> ready", 30s)) << near.Output();

  base_ = "http://127.0.0.1:" + std::to_string(near_gateway);
  auto answer = Post("/v1/chat/completions", Ask("shared"));
  ASSERT_EQ(answer.status, 200) << answer.body << "\n" << far->Output();
  EXPECT_EQ(Parse(answer.body)["choices"][0]["message"]["content"], "Hello from the other llmdesk");

  std::vector<std::string> status_cmd = {"env"};
  for (const auto& [k, v] : near_env) status_cmd.push_back(k + "=" + v);
  for (const auto& a : {BinPath("llmdesk").string(), std::string("--config"), near_config.string(), std::string("status")})
    status_cmd.push_back(a);
  auto table = RunCommand(status_cmd, 30s);
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, ::testing::ContainsRegex("shared +ready .*http://127\\.0\\.0\\.1:" + std::to_string(far_gateway) + "/v1"));
  status_cmd.push_back("--json");
  auto json = RunCommand(status_cmd, 30s);
  Json list = Parse(json.out).value("backends", Json());
  ASSERT_TRUE(list.is_array() && !list.empty()) << json.out << json.err;
  EXPECT_EQ(list[0]["kind"], "remote");
  EXPECT_EQ(list[0]["state"], "ready");

  // The far llmdesk goes away: the health check notices (health_interval 5 s, 3 failures in a row).
  far->Signal(SIGKILL);
  far->Wait(10s);
  ASSERT_TRUE(near.WaitFor("shared +ready -> failed", 60s)) << near.Output();
  EXPECT_THAT(near.Output(), HasSubstr("/v1/models stopped answering"));
  // ... and is ready again by itself once the far llmdesk is back.
  far = std::make_unique<Proc>(std::vector<std::string>{BinPath("llmdesk").string(), "--config", far_config.string(), "serve"},
                               far_env);
  ASSERT_TRUE(far->WaitFor("control API at http://127\\.0\\.0\\.1:" + std::to_string(far_gateway))) << far->Output();
  ASSERT_TRUE(near.WaitFor("shared +failed -> starting", 60s)) << near.Output();
  std::string state;
  for (int i = 0; i < 300 && state != "ready"; ++i) {  // bounded poll of another process's state
    auto b = Send("GET", "/api/backends/shared");
    state = b.status == 200 ? Parse(b.body).value("state", "") : "";
    if (state != "ready") std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(state, "ready") << near.Output();
  answer = Post("/v1/chat/completions", Ask("shared"));
  EXPECT_EQ(answer.status, 200) << answer.body;
}

}  // namespace
}  // namespace llmdesk::test
