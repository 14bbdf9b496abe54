// The `llmdesk` binary on hostile input (issue 7 §0): duplicate names, 3 MB values, over-long paths,
// non-loopback hosts without a token, and text that is not UTF-8. Each case must end in a clear
// message and an exit code — never a signal (SIGSEGV, SIGABRT from an uncaught exception).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <nlohmann/json.hpp>

#include "process/process.h"
#include "support/test_support.h"

namespace llmdesk {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using test::RunCommand;

std::string Llmdesk() { return test::BinPath("llmdesk").string(); }
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

TEST(CliHostileInput, DuplicateModelAndServerNamesAreErrorsNamingBothPlaces) {
  test::TempDir dir;
  auto file = dir.Write("dup.yaml",
                        "models:\n"
                        "  a:\n"
                        "    port: 10500\n"
                        "  a:\n"
                        "    port: 10501\n"
                        "mcp_servers:\n"
                        "  fs: {command: /bin/true}\n"
                        "  fs: {url: http://127.0.0.1:9000/mcp}\n");
  auto r = RunCommand({Llmdesk(), "config", "check", file.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr(file.string() + ":4:3: error: models.a: duplicate key; first given at " +
                               file.string() + ":2:3"));
  EXPECT_THAT(r.err, HasSubstr(file.string() + ":8:3: error: mcp_servers.fs: duplicate key; first given at " +
                               file.string() + ":7:3"));
}

TEST(CliHostileInput, ThreeMegabyteHfValueIsAClearErrorNotACrash) {
  test::TempDir dir;
  // std::regex recursed once per character here and overflowed the stack (SIGSEGV).
  auto file = dir.Write("hf.yaml", "models:\n  a:\n    hf: " + std::string(3 << 20, 'a') + "\n");
  auto r = RunCommand({Llmdesk(), "config", "check", file.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err.substr(0, 2000);
  EXPECT_THAT(r.err, HasSubstr(file.string() + ":3:9: error: models.a.hf: expected at most 256 bytes"));
  EXPECT_LT(r.err.size(), 2000u);  // the value is not echoed back
}

TEST(CliHostileInput, OverlongModelPathsAreClearErrors) {
  test::TempDir dir;
  auto long_path = dir.Write("long.yaml", "models:\n  a:\n    model: /" + std::string(5000, 'm') + ".gguf\n");
  auto r = RunCommand({Llmdesk(), "config", "check", long_path.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err.substr(0, 2000);
  EXPECT_THAT(r.err, HasSubstr("models.a.model: path is 5006 bytes long; the system's limit is 4095"));

  auto long_name = dir.Write("name.yaml", "models:\n  a:\n    model: /tmp/" + std::string(300, 'n') + "/m.gguf\n");
  r = RunCommand({Llmdesk(), "config", "check", long_name.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("models.a.model: path component 'nnnn"));
  EXPECT_THAT(r.err, HasSubstr("is longer than the system's limit of 255 bytes"));

  // `doctor` and `config show` load the same way: no abort there either.
  EXPECT_EQ(RunCommand({Llmdesk(), "--config", long_path.string(), "doctor"}).exit_code, 2);
  EXPECT_EQ(RunCommand({Llmdesk(), "--config", long_name.string(), "config", "show"}).exit_code, 2);
  // A config *file* name over the limit is a clear error too.
  r = RunCommand({Llmdesk(), "config", "check", "/tmp/" + std::string(300, 'c') + ".yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot read the file: File name too long"));
}

TEST(CliHostileInput, NonLoopbackHostWithoutATokenIsRefused) {
  test::TempDir dir;
  auto open_gateway = dir.Write("g.yaml", "gateway: {host: 0.0.0.0}\n");
  auto r = RunCommand({Llmdesk(), "config", "check", open_gateway.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(open_gateway.string() + ":1:17: error: gateway.host: '0.0.0.0' is not a loopback "
                               "address and no token is set"));
  EXPECT_THAT(r.err, HasSubstr("set gateway.token"));
  EXPECT_THAT(r.err, HasSubstr("or bind 127.0.0.1"));
  auto open_tools = dir.Write("t.yaml", "tool_server: {host: 192.168.1.20, token: ''}\n");
  EXPECT_EQ(RunCommand({Llmdesk(), "config", "check", open_tools.string()}).exit_code, 2);
  auto with_token = dir.Write("ok.yaml", "tool_server: {host: 0.0.0.0, token: s3cret}\ngateway: {host: localhost}\n");
  EXPECT_EQ(RunCommand({Llmdesk(), "config", "check", with_token.string()}).exit_code, 0);

  // The tool server's --host flag follows the same rule (before: it served the tools to the network).
  auto plain = dir.Write("plain.yaml", "");
  r = RunCommand({Llmdesk(), "--config", plain.string(), "tool-server", "--host", "0.0.0.0", "--port", "0"}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--host 0.0.0.0 is not a loopback address and no token is set"));
}

TEST(CliHostileInput, ConfigShowJsonSurvivesPathsThatAreNotUtf8) {
  test::TempDir dir;
  auto file = dir.Write("caf\xE9-latin1/c.yaml", "models:\n  m: {model: \"/models/${LLMDESK_TEST_BYTES}.gguf\"}\n");
  setenv("LLMDESK_TEST_BYTES", "\xFF\xFE", 1);
  auto r = RunCommand({Llmdesk(), "--config", file.string(), "config", "show", "--json"});
  unsetenv("LLMDESK_TEST_BYTES");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_THAT(j["source"].get<std::string>(), HasSubstr("caf" + kReplacement + "-latin1"));
  EXPECT_EQ(j["models"]["m"]["model"], "/models/" + kReplacement + kReplacement + ".gguf");
}

TEST(CliHostileInput, PortsJsonSurvivesAHolderWhoseCommandLineIsNotUtf8) {
  // A listener whose argv holds bytes that are not UTF-8; it prints its port, then waits for EOF.
  auto holder = process::Child::Spawn(
      {.argv = {"/usr/bin/python3", "-c",
                "import socket, sys\n"
                "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
                "print(s.getsockname()[1], flush=True); sys.stdin.read()\n",
                "caf\xE9-\xFF"},
       .stdio = process::SpawnSpec::Stdio::kPipes});
  ASSERT_TRUE(holder.ok()) << holder.status().ToString();
  std::string port_text;
  for (int k = 0; k < 100 && port_text.empty(); ++k) {
    pollfd p{(*holder)->stdout_fd(), POLLIN, 0};
    if (poll(&p, 1, 100) > 0) (*holder)->ReadOutput([&](std::string_view line) { port_text = line; });
  }
  ASSERT_FALSE(port_text.empty());

  test::TempDir dir;
  auto file = dir.Write("c.yaml", "gateway: {port: " + std::to_string(test::PickUnusedPort()) + "}\n" +
                                      "models:\n  m: {model: /nonexistent.gguf, port: " + port_text + "}\n");
  auto r = RunCommand({Llmdesk(), "--config", file.string(), "ports", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << r.out;
  bool seen = false;
  for (const auto& use : j) {
    if (use["port"] != std::stoi(port_text)) continue;
    seen = true;
    EXPECT_EQ(use["owner"], "other");
    EXPECT_EQ(use["pid"], (*holder)->pid());
    EXPECT_THAT(use["command"].get<std::string>(), HasSubstr("caf" + kReplacement + "-" + kReplacement));
  }
  EXPECT_TRUE(seen) << r.out;
}

}  // namespace
}  // namespace llmdesk
