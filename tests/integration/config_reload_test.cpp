// Config reload on a running `llmdesk serve` (real processes: llmdesk, its stand-in engines, real sockets):
// POST /api/config/reload, SIGHUP and `llmdesk config reload` re-read the file and apply it — an added backend is
// registered (and started when autostart), a removed one stopped, a changed one restarted, an unchanged running
// one keeps its very process; a listener setting is reported as needing a restart; a file with errors is refused
// with file:line:col and nothing changes.
#include <gtest/gtest.h>
#include <signal.h>

#include "control/control.h"
#include "integration/cli_manager_helpers.h"

namespace llmdesk::test {
namespace {

using Json = nlohmann::json;

class ConfigReload : public ::testing::Test {
 protected:
  void SetUp() override {
    const int base = FreePortRange(16);
    gateway_ = base;
    tool_port_ = base + 1;
    first_model_port_ = base + 2;
    env_ = ScratchEnv(dir_.path());
  }

  // A spawned stand-in engine (healthy after `delay_ms`) under `name`.
  static std::string Engine(const std::string& name, int delay_ms, bool autostart = false) {
    return "  " + name + ":\n    command: [" + BinPath("llmdesk-fake-engine").string() +
           ", --host, 127.0.0.1, --port, \"${PORT}\", --delay-ms, \"" + std::to_string(delay_ms) + "\"]\n" +
           "    stop_grace: 5\n" + (autostart ? "    autostart: true\n" : "");
  }
  std::string WriteConfig(const std::string& models, int gateway_port = 0) {
    return dir_.Write("llm_backends.yaml",
                      "gateway: {host: 127.0.0.1, port: " + std::to_string(gateway_port ? gateway_port : gateway_) + "}\n" +
                          "tool_server: {port: " + std::to_string(tool_port_) + ", tools: [calculator]}\n" +
                          "ports:\n  on_conflict: fallback\n  range: " + std::to_string(first_model_port_) + "-" +
                          std::to_string(gateway_ + 15) + "\n" + "models:\n" + models)
        .string();
  }
  std::unique_ptr<Proc> Serve(std::vector<std::string> names) {
    std::vector<std::string> argv = {BinPath("llmdesk").string(), "--config", (dir_.path() / "llm_backends.yaml").string(),
                                     "serve"};
    argv.insert(argv.end(), names.begin(), names.end());
    return std::make_unique<Proc>(argv, env_);
  }
  // "<name>  <from> -> ready" in serve's event lines.
  static bool WaitReady(Proc& serve, const std::string& name) {
    return serve.WaitFor("\\b" + name + "\\s+\\w+ -> ready", 60s).has_value();
  }
  Json Backend(control::ControlClient& client, const std::string& name) {
    auto b = client.Backend(name);
    return b.ok() ? *b : Json();
  }
  static std::vector<std::string> Strings(const Json& report, const char* key) {
    std::vector<std::string> out;
    if (report.contains(key) && report[key].is_array())
      for (const auto& s : report[key]) out.push_back(s.get<std::string>());
    return out;
  }
  static std::vector<std::string> V(std::initializer_list<std::string> items) { return items; }

  TempDir dir_;
  int gateway_ = 0, tool_port_ = 0, first_model_port_ = 0;
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigReload, AddsRemovesRestartsChangedAndLeavesUnchangedRunning) {
  WriteConfig(Engine("keep", 0) + Engine("drop", 0) + Engine("change", 0));
  auto serve = Serve({"keep", "drop", "change"});
  ASSERT_TRUE(WaitReady(*serve, "keep") && WaitReady(*serve, "drop") && WaitReady(*serve, "change")) << serve->Output();
  control::ControlClient client("127.0.0.1", gateway_);
  const pid_t keep_pid = Backend(client, "keep").value("pid", 0);
  const pid_t drop_pid = Backend(client, "drop").value("pid", 0);
  const pid_t change_pid = Backend(client, "change").value("pid", 0);
  ASSERT_GT(keep_pid, 0);
  ASSERT_GT(drop_pid, 0);
  ASSERT_GT(change_pid, 0);

  // drop goes, change gets other args, added comes (autostart), keep stays as it is; the gateway's port moves
  // in the file, which only a restart can apply.
  WriteConfig(Engine("keep", 0) + Engine("change", 20) + Engine("added", 0, /*autostart=*/true), gateway_ + 14);
  auto report = client.ReloadConfig();
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(Strings(*report, "added"), V({"added"})) << report->dump();
  EXPECT_EQ(Strings(*report, "removed"), V({"drop"})) << report->dump();
  EXPECT_EQ(Strings(*report, "restarted"), V({"change"})) << report->dump();
  EXPECT_EQ(Strings(*report, "unchanged"), V({"keep"})) << report->dump();
  const auto restart = Strings(*report, "needs_restart");
  ASSERT_EQ(restart.size(), 1u) << report->dump();
  EXPECT_EQ(restart[0], "gateway.port: " + std::to_string(gateway_) + " -> " + std::to_string(gateway_ + 14));

  EXPECT_TRUE(WaitReady(*serve, "added")) << serve->Output();
  ASSERT_TRUE(serve->WaitFor("\\bdrop\\s+stopping -> stopped", 30s)) << serve->Output();
  EXPECT_TRUE(GoneWithin(drop_pid, 10s)) << "the removed backend's engine still runs";
  EXPECT_FALSE(client.Backend("drop").ok()) << "a removed backend is still listed";
  // Ready a second time: restarted with the new settings.
  ASSERT_TRUE(serve->WaitFor("\\bchange\\s+starting -> ready(.|\\n)*\\bchange\\s+starting -> ready", 30s)) << serve->Output();
  EXPECT_NE(Backend(client, "change").value("pid", 0), change_pid) << "the changed backend was not restarted";
  EXPECT_FALSE(ProcessAlive(change_pid)) << "the changed backend's old engine still runs";
  const Json keep = Backend(client, "keep");
  EXPECT_EQ(keep.value("pid", 0), keep_pid) << "the unchanged backend was touched";
  EXPECT_EQ(keep.value("state", ""), "ready");
  EXPECT_TRUE(ProcessAlive(keep_pid));
  auto names = client.Backends();
  ASSERT_TRUE(names.ok());
  std::vector<std::string> listed;
  for (const auto& b : *names) listed.push_back(b.value("name", ""));
  EXPECT_EQ(listed, V({"keep", "change", "added"}));
}

TEST_F(ConfigReload, ABadFileIsRefusedAtItsLineAndColumnAndNothingChanges) {
  const std::string file = WriteConfig(Engine("keep", 0));
  auto serve = Serve({"keep"});
  ASSERT_TRUE(WaitReady(*serve, "keep")) << serve->Output();
  control::ControlClient client("127.0.0.1", gateway_);
  const pid_t keep_pid = Backend(client, "keep").value("pid", 0);
  ASSERT_GT(keep_pid, 0);

  // A typo'd key in a new model (line 11 of the file, column 5), and keep's args changed: nothing may apply.
  WriteConfig(Engine("keep", 30) + "  other:\n    modle: /tmp/x.gguf\n");
  auto refused = client.ReloadConfig();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find(file + ":11:5: error: "), std::string::npos) << refused.status().message();
  EXPECT_NE(refused.status().message().find("nothing was changed"), std::string::npos) << refused.status().message();
  const Json keep = Backend(client, "keep");
  EXPECT_EQ(keep.value("pid", 0), keep_pid);
  EXPECT_EQ(keep.value("state", ""), "ready");
  EXPECT_FALSE(client.Backend("other").ok());

  // The CLI says the same and exits 2 (a bad config).
  auto cli = RunCommand({BinPath("llmdesk").string(), "--config", file, "config", "reload"}, 30s);
  EXPECT_EQ(cli.exit_code, 2) << cli.out << cli.err;
}

TEST_F(ConfigReload, SighupAndTheCliReload) {
  const std::string file = WriteConfig(Engine("keep", 0));
  auto serve = Serve({"keep"});
  ASSERT_TRUE(WaitReady(*serve, "keep")) << serve->Output();
  control::ControlClient client("127.0.0.1", gateway_);
  const pid_t keep_pid = Backend(client, "keep").value("pid", 0);

  WriteConfig(Engine("keep", 0) + Engine("second", 0));
  serve->Signal(SIGHUP);
  ASSERT_TRUE(serve->WaitFor("added: second", 30s)) << serve->Output();
  EXPECT_TRUE(client.Backend("second").ok());
  EXPECT_EQ(Backend(client, "second").value("state", ""), "stopped") << "not autostart: registered, not started";

  WriteConfig(Engine("keep", 0));
  auto cli = RunCommand({BinPath("llmdesk").string(), "--config", file, "config", "reload"}, 30s);
  EXPECT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  EXPECT_NE(cli.out.find("removed (stopped): second"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("unchanged (left running as they were): keep"), std::string::npos) << cli.out;
  EXPECT_FALSE(client.Backend("second").ok());
  EXPECT_EQ(Backend(client, "keep").value("pid", 0), keep_pid);
}

}  // namespace
}  // namespace llmdesk::test
