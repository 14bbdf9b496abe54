// tests/integration/chaos_test.cpp — faults injected into real processes, many times over (ctest label
// `chaos`): kill -9 of the real llama-server mid-stream twenty times through the gateway (each time a clean
// OpenAI error event, a restart, and a next request that succeeds), and kill -9 of `llmdesk serve` twenty
// times (each time no engine or engine child survives it, checked in /proc, and the next serve gets the
// configured port back at once).
#include <dirent.h>
#include <signal.h>

#include <fstream>

#include "integration/cli_manager_helpers.h"
#include "integration/gateway_fixture.h"
#include "manager/spawn.h"

namespace llmdesk::test {
namespace {

constexpr int kRounds = 20;

// Processes carrying the engine owner mark whose environment also names `scratch` (this test's own XDG
// dirs: parallel tests have engines of their own).
std::vector<pid_t> MarkedProcesses(const std::string& scratch) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string env = ReadFileBytes(std::string("/proc/") + e->d_name + "/environ");
    if (env.find(std::string(manager::kOwnerEnv) + "=") != std::string::npos && env.find(scratch) != std::string::npos &&
        ProcessAlive(static_cast<pid_t>(std::stoi(e->d_name))))
      out.push_back(static_cast<pid_t>(std::stoi(e->d_name)));
  }
  closedir(d);
  return out;
}

class Chaos : public GatewayTest {};

TEST_F(Chaos, TheEngineKilledMidStreamTwentyTimesEndsEachStreamCleanlyAndComesBack) {
  const std::string model = MakeModel("rambler", {"--seed", "3"});
  StartStack(LocalModel("rambler", model));
  const Json long_stream = {{"model", "rambler"}, {"stream", true}, {"max_tokens", 20000}, {"ignore_eos", true},
                            {"messages", {{{"role", "user"}, {"content", "Tell me a long story."}}}}};
  const Json ask = {{"model", "rambler"}, {"max_tokens", 8}, {"messages", {{{"role", "user"}, {"content", "Hi?"}}}}};
  for (int round = 0; round < kRounds; ++round) {
    pid_t victim = 0;
    std::string sse = PostStream("/v1/chat/completions", long_stream, [&](std::string_view chunk) {
      if (victim == 0 && chunk.find("content") != std::string_view::npos) {
        auto s = stack_->manager().Get("rambler");
        if (s.ok() && s->pid > 0) ::kill(victim = s->pid, SIGKILL);
      }
      return true;
    });
    ASSERT_GT(victim, 0) << "round " << round << ": no engine to kill\n" << sse.substr(0, 2000);
    auto events = Events(sse);
    ASSERT_FALSE(events.empty()) << "round " << round;
    ASSERT_TRUE(events.back().is_object() && events.back().contains("error"))
        << "round " << round << ": the stream did not end with an error event:\n"
        << sse.substr(sse.size() > 1000 ? sse.size() - 1000 : 0);
    EXPECT_EQ(events.back()["error"]["code"], "upstream_failed") << "round " << round;
    auto next = Post("/v1/chat/completions", ask);
    ASSERT_EQ(next.status, 200) << "round " << round << ": " << next.body;
    EXPECT_FALSE(ProcessAlive(victim)) << "round " << round;
  }
  EXPECT_EQ(CountProcesses(model), 1);
}

TEST(ChaosServe, KillNineOfServeTwentyTimesLeavesNoEngineAndFreesThePortAtOnce) {
  TempDir dir;
  const auto env = ScratchEnv(dir.path());
  const int base = FreePortRange(8);
  const int gateway = base, tool_port = base + 1, port = base + 2;
  const auto model = dir.path() / "tiny.gguf";
  auto made = RunCommand({BinPath("llmdesk-testmodel").string(), "--out", model.string()}, 120s);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto config = dir.Write(
      "llm_backends.yaml",
      "engine:\n  llama_server: " + LlamaServerPath().string() + "\n" +
          "gateway: {host: 127.0.0.1, port: " + std::to_string(gateway) + "}\n" +
          "tool_server: {port: " + std::to_string(tool_port) + "}\n" + "ports:\n  range: " + std::to_string(port) + "-" +
          std::to_string(base + 7) + "\n" + "models:\n  m:\n    model: " + model.string() +
          "\n    port: " + std::to_string(port) + "\n    args: [--ctx-size, \"256\"]\n    startup_timeout: 120\n");
  net::HttpClient http;
  for (int round = 0; round < kRounds; ++round) {
    Proc serve({BinPath("llmdesk").string(), "--config", config.string(), "serve", "m"}, env);
    ASSERT_TRUE(serve.WaitFor("m +starting -> ready", 120s)) << "round " << round << "\n" << serve.Output();
    auto status = http.Send({.method = "GET", .url = "http://127.0.0.1:" + std::to_string(gateway) + "/api/backends/m",
                             .timeout = std::chrono::seconds(10)});
    ASSERT_TRUE(status.ok() && status->status == 200) << "round " << round;
    const Json m = Json::parse(status->body, nullptr, false);
    ASSERT_TRUE(m.is_object()) << status->body;
    // The previous round's kill -9 freed the configured port: no fallback, no waiting for it.
    EXPECT_EQ(m.value("port", 0), port) << "round " << round << "\n" << serve.Output();
    const auto engines = MarkedProcesses(dir.path().string());
    ASSERT_EQ(engines.size(), 1u) << "round " << round;

    serve.Signal(SIGKILL);
    ASSERT_TRUE(serve.Wait(10s).has_value()) << "round " << round << ": llmdesk serve outlived SIGKILL";
    for (pid_t engine : engines) EXPECT_TRUE(GoneWithin(engine, 5s)) << "round " << round << ": PID " << engine;
    EXPECT_TRUE(MarkedProcesses(dir.path().string()).empty()) << "round " << round << ": an engine survived";
  }
}

}  // namespace
}  // namespace llmdesk::test
