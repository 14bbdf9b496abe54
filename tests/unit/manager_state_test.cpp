// The manager's pure parts: the transition table, port choice, engine output parsing, argv building.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "manager/internal.h"
#include "manager/manager.h"

namespace llmdesk::manager {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr State kAll[] = {State::kStopped, State::kStarting, State::kReady, State::kStopping, State::kFailed};

TEST(TransitionTable, AllowsExactlyTheDocumentedTransitions) {
  std::set<std::pair<State, State>> allowed = {
      {State::kStopped, State::kStarting},  {State::kStarting, State::kReady},    {State::kReady, State::kStopping},
      {State::kStopping, State::kStopped},  {State::kStarting, State::kFailed},   {State::kReady, State::kFailed},
      {State::kFailed, State::kStarting},   {State::kStarting, State::kStarting}, {State::kReady, State::kStarting},
      {State::kStarting, State::kStopping}, {State::kFailed, State::kStopped},
  };
  for (State from : kAll)
    for (State to : kAll)
      EXPECT_EQ(IsValidTransition(from, to), allowed.count({from, to}) == 1)
          << ToString(from) << " -> " << ToString(to);
}

TEST(TransitionTable, NeverSkipsStoppingOrLeavesStoppingEarly) {
  EXPECT_FALSE(IsValidTransition(State::kReady, State::kStopped));
  EXPECT_FALSE(IsValidTransition(State::kStopping, State::kStarting));
  EXPECT_FALSE(IsValidTransition(State::kStopped, State::kReady));
  EXPECT_STREQ(ToString(State::kStopping), "stopping");
}

internal::PortQuery Query(int configured, int first, int last) {
  internal::PortQuery q;
  q.configured = configured;
  q.ports.range_first = first;
  q.ports.range_last = last;
  return q;
}

net::PortHolder Holder(int port, pid_t pid, std::string command) {
  net::PortHolder h;
  h.port = port;
  h.address = "127.0.0.1";
  h.pid = pid;
  h.command = std::move(command);
  return h;
}

TEST(ChoosePort, FreeConfiguredPortIsUsedWithoutANote) {
  auto c = internal::ChoosePort(Query(10500, 10500, 10510));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 10500);
  EXPECT_EQ(c->note, "");
}

TEST(ChoosePort, AFreeConfiguredPortCostsNoFullScan) {
  auto q = Query(10500, 10500, 10510);
  int scans = 0;
  q.find_holder = [](int) { return std::optional<net::PortHolder>(); };
  q.listeners = [&] { return ++scans, std::vector<net::PortHolder>{}; };
  ASSERT_TRUE(internal::ChoosePort(q).ok());
  EXPECT_EQ(scans, 0);
  q.find_holder = [](int port) { return std::optional(Holder(port, 7, "x")); };
  auto c = internal::ChoosePort(q);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 10504);  // 10500 and three single lookups held, then one listing (empty)
  EXPECT_EQ(scans, 1);
  q.find_holder = [](int port) { return port == 10500 ? std::optional(Holder(port, 7, "x")) : std::nullopt; };
  c = internal::ChoosePort(q);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 10501);
  EXPECT_EQ(scans, 1);  // no listing needed
}

TEST(ChoosePort, HeldPortFallsBackAndNamesTheHolder) {
  auto q = Query(10500, 10500, 10510);
  q.listeners = [] { return std::vector{Holder(10500, 4242, "python3 -m http.server 10500")}; };
  auto c = internal::ChoosePort(q);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 10501);
  EXPECT_EQ(c->note, "port 10500 is held by PID 4242 (python3 -m http.server 10500); using 10501");
}

TEST(ChoosePort, FailPolicyRefusesWithHowToFree) {
  auto q = Query(10500, 10500, 10510);
  q.ports.on_conflict = config::OnConflict::kFail;
  q.listeners = [] { return std::vector{Holder(10500, 4242, "python3 -m http.server 10500")}; };
  auto c = internal::ChoosePort(q);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(c.status().message(), HasSubstr("port 10500 is held by PID 4242 (python3 -m http.server 10500)"));
  EXPECT_THAT(c.status().message(), HasSubstr("kill 4242"));
}

TEST(ChoosePort, SkipsOurOwnAndFailedPortsAndZeroMeansFirstFree) {
  auto q = Query(0, 10500, 10510);
  q.ours = {{10500, "other"}};
  q.failed = {10501};
  auto c = internal::ChoosePort(q);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 10502);
  q.configured = 10500;
  c = internal::ChoosePort(q);
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(c->note, HasSubstr("used by backend 'other'"));
}

TEST(ChoosePort, ExhaustedRangeAndPrivilegedPortsAreClearErrors) {
  auto q = Query(10500, 10500, 10501);
  q.listeners = [] { return std::vector{Holder(10500, 1, "a"), Holder(10501, 2, "b")}; };
  auto c = internal::ChoosePort(q);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("no free port is left in ports.range 10500-10501"));

  auto p = Query(80, 10500, 10510);
  p.unprivileged_start = 1024;
  p.privileged = false;
  c = internal::ChoosePort(p);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kPermissionDenied);
  EXPECT_THAT(c.status().message(), HasSubstr("port 80 is below 1024"));
  p.privileged = true;
  EXPECT_TRUE(internal::ChoosePort(p).ok());
}

TEST(EngineOutput, LlamaServerLinesBecomeStages) {
  auto p = internal::ParseLoadLine("0.00.026.808 I srv    load_model: loading model '/tmp/m.gguf'");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->stage, "loading model");
  EXPECT_FALSE(p->worth_probing);
  p = internal::ParseLoadLine("0.03.547.383 I srv  llama_server: model loaded");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->stage, "model loaded");
  EXPECT_TRUE(p->worth_probing);
  p = internal::ParseLoadLine("downloading model: 42.5% done");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->progress, 0.425);
  EXPECT_FALSE(internal::ParseLoadLine("W srv  llama_server: CORS is set to allow all origins"));
}

TEST(EngineOutput, AddressInUseIsRecognised) {
  EXPECT_TRUE(internal::IsAddressInUseLine(
      "0.00.002.738 E srv         start: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 42511"));
  EXPECT_TRUE(internal::IsAddressInUseLine("OSError: [Errno 98] Address already in use"));
  EXPECT_FALSE(internal::IsAddressInUseLine("listening on http://127.0.0.1:10500"));
}

TEST(SpawnSpec, LlamaServerArgvAddsJinjaUnlessGiven) {
  config::ModelConfig m;
  m.name = "default";
  m.model = "/m.gguf";
  m.args = {"-c", "4096"};
  m.env = {{"A", "1"}};
  auto spec = internal::BuildSpawnSpec(m, "/bin/llama-server", 10501);
  EXPECT_THAT(spec.argv, ElementsAre("/bin/llama-server", "-m", "/m.gguf", "--host", "127.0.0.1", "--port", "10501",
                                     "-c", "4096", "--jinja"));
  EXPECT_EQ(spec.env.at("A"), "1");
  m.args = {"--no-jinja"};
  spec = internal::BuildSpawnSpec(m, "/bin/llama-server", 10501);
  EXPECT_EQ(spec.argv.back(), "--no-jinja");
}

TEST(SpawnSpec, CommandEntriesSubstituteMacrosInEveryArgument) {
  config::ModelConfig m;
  m.kind = config::ModelConfig::Kind::kCommand;
  m.model = "/models/x.gguf";
  m.command = {"vllm", "serve", "${MODEL}", "--port=${PORT}", "--tag", "${PORT}-${PORT}"};
  auto spec = internal::BuildSpawnSpec(m, "", 8000);
  EXPECT_THAT(spec.argv, ElementsAre("vllm", "serve", "/models/x.gguf", "--port=8000", "--tag", "8000-8000"));
}

}  // namespace
}  // namespace llmdesk::manager
