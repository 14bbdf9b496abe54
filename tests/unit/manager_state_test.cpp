// The manager's parts without a running Manager: the state machine step of a Backend (refusals are
// refused), port choice, engine output parsing, argv building, file names, the state store's input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "manager/backend.h"
#include "manager/engine_output.h"
#include "manager/port_choice.h"
#include "manager/spawn.h"
#include "manager/state_store.h"
#include "support/test_support.h"

namespace llmdesk::manager {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Records what a Backend asks of its supervisor.
class FakeHost : public BackendHost {
 public:
  Options opts;
  std::string key = "test-key";
  std::vector<Event> events;
  int publishes = 0;
  const Options& options() const override { return opts; }
  const std::string& owner_key() const override { return key; }
  bool quitting() const override { return false; }
  uint64_t Watch(Backend&, const process::Child&) override { return 1; }
  void UnwatchOutput(const process::Child&) override {}
  void Forget(uint64_t, const process::Child&) override {}
  void Emit(Event e) override { events.push_back(std::move(e)); }
  void Publish(const Backend&) override { ++publishes; }
  std::map<int, std::string> PortsInUse(const Backend&) const override { return {}; }
  void RecordsChanged() override {}
  void Post(std::function<void()>) override {}
};

class BackendTest : public ::testing::Test {
 protected:
  std::unique_ptr<Backend> Make(config::ModelConfig model) {
    return std::make_unique<Backend>(host_, std::move(model), "", std::make_shared<process::LineLog>(10),
                                     std::make_shared<Lease::Hold>());
  }
  config::ModelConfig Missing() {
    config::ModelConfig m;
    m.name = "a";
    m.model = (dir_.path() / "absent.gguf").string();
    return m;
  }
  test::TempDir dir_;
  FakeHost host_;
};

TEST_F(BackendTest, ATransitionFromAStateItIsNotInIsRefused) {
  auto b = Make(Missing());
  EXPECT_FALSE(b->Transition(State::kReady, State::kStopping, "stale view"));
  EXPECT_EQ(b->state(), State::kStopped);
  EXPECT_TRUE(host_.events.empty());
  EXPECT_EQ(host_.publishes, 0);
}

TEST_F(BackendTest, ATransitionTheTableForbidsIsRefused) {
  auto b = Make(Missing());
  EXPECT_FALSE(b->Transition(State::kStopped, State::kReady, "skipping starting"));
  EXPECT_FALSE(b->Transition(State::kStopped, State::kStopping, "nothing to stop"));
  ASSERT_TRUE(b->Transition(State::kStopped, State::kStarting, "start"));
  ASSERT_TRUE(b->Transition(State::kStarting, State::kReady, "healthy"));
  EXPECT_FALSE(b->Transition(State::kReady, State::kStopped, "skipping stopping"));
  EXPECT_EQ(b->state(), State::kReady);
  EXPECT_EQ(host_.events.size(), 2u);
}

TEST_F(BackendTest, AnAllowedTransitionIsPublishedAndEmittedOnce) {
  auto b = Make(Missing());
  ASSERT_TRUE(b->Transition(State::kStopped, State::kStarting, "because"));
  ASSERT_EQ(host_.events.size(), 1u);
  EXPECT_EQ(host_.events[0].old_state, State::kStopped);
  EXPECT_EQ(host_.events[0].new_state, State::kStarting);
  EXPECT_EQ(host_.events[0].reason, "because");
  EXPECT_EQ(host_.publishes, 1);
  EXPECT_EQ(b->status().reason, "because");
}

TEST_F(BackendTest, AStartRefusedBeforeSpawningGoesStraightToFailed) {
  auto b = Make(Missing());
  b->Start();
  ASSERT_EQ(host_.events.size(), 1u);  // no made-up stopped -> starting step
  EXPECT_EQ(host_.events[0].old_state, State::kStopped);
  EXPECT_EQ(host_.events[0].new_state, State::kFailed);
  EXPECT_THAT(host_.events[0].reason, HasSubstr("absent.gguf does not exist"));
  b->Start();  // again, from failed
  ASSERT_EQ(host_.events.size(), 2u);
  EXPECT_EQ(host_.events[1].old_state, State::kFailed);
  EXPECT_EQ(host_.events[1].new_state, State::kFailed);
  EXPECT_EQ(b->start_serial(), 2u);
}

TEST_F(BackendTest, CommandsAreCheckedAgainstTheTable) {
  EXPECT_TRUE(IsAllowed(State::kStopped, Trigger::kStart));
  EXPECT_TRUE(IsAllowed(State::kFailed, Trigger::kStart));
  EXPECT_FALSE(IsAllowed(State::kStarting, Trigger::kStart));
  EXPECT_FALSE(IsAllowed(State::kStopping, Trigger::kStart));
  EXPECT_FALSE(IsAllowed(State::kStopped, Trigger::kStop));
  auto b = Make(Missing());
  b->Stop(false, "stop a stopped backend");  // refused quietly: nothing happens
  EXPECT_TRUE(host_.events.empty());
}

PortQuery Query(int configured, int first, int last) {
  PortQuery q;
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
  auto c = ChoosePort(Query(10500, 10500, 10510));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 10500);
  EXPECT_EQ(c->note, "");
}

TEST(ChoosePort, AFreeConfiguredPortCostsNoFullScan) {
  auto q = Query(10500, 10500, 10510);
  int scans = 0;
  q.find_holder = [](int) { return std::optional<net::PortHolder>(); };
  q.listeners = [&] { return ++scans, std::vector<net::PortHolder>{}; };
  ASSERT_TRUE(ChoosePort(q).ok());
  EXPECT_EQ(scans, 0);
  q.find_holder = [](int port) { return std::optional(Holder(port, 7, "x")); };
  auto c = ChoosePort(q);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 10504);  // 10500 and three single lookups held, then one listing (empty)
  EXPECT_EQ(scans, 1);
  q.find_holder = [](int port) { return port == 10500 ? std::optional(Holder(port, 7, "x")) : std::nullopt; };
  c = ChoosePort(q);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 10501);
  EXPECT_EQ(scans, 1);  // no listing needed
}

TEST(ChoosePort, HeldPortFallsBackAndNamesTheHolder) {
  auto q = Query(10500, 10500, 10510);
  q.listeners = [] { return std::vector{Holder(10500, 4242, "python3 -m http.server 10500")}; };
  auto c = ChoosePort(q);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 10501);
  EXPECT_EQ(c->note, "port 10500 is held by PID 4242 (python3 -m http.server 10500); using 10501");
}

TEST(ChoosePort, FailPolicyRefusesWithHowToFree) {
  auto q = Query(10500, 10500, 10510);
  q.ports.on_conflict = config::OnConflict::kFail;
  q.listeners = [] { return std::vector{Holder(10500, 4242, "python3 -m http.server 10500")}; };
  auto c = ChoosePort(q);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(c.status().message(), HasSubstr("port 10500 is held by PID 4242 (python3 -m http.server 10500)"));
  EXPECT_THAT(c.status().message(), HasSubstr("kill 4242"));
}

TEST(ChoosePort, SkipsOurOwnAndFailedPortsAndZeroMeansFirstFree) {
  auto q = Query(0, 10500, 10510);
  q.ours = {{10500, "other"}};
  q.failed = {10501};
  auto c = ChoosePort(q);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 10502);
  q.configured = 10500;
  c = ChoosePort(q);
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(c->note, HasSubstr("used by backend 'other'"));
}

TEST(ChoosePort, ExhaustedRangeAndPrivilegedPortsAreClearErrors) {
  auto q = Query(10500, 10500, 10501);
  q.listeners = [] { return std::vector{Holder(10500, 1, "a"), Holder(10501, 2, "b")}; };
  auto c = ChoosePort(q);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("no free port is left in ports.range 10500-10501"));

  auto p = Query(80, 10500, 10510);
  p.unprivileged_start = 1024;
  p.privileged = false;
  c = ChoosePort(p);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kPermissionDenied);
  EXPECT_THAT(c.status().message(), HasSubstr("port 80 is below 1024"));
  p.privileged = true;
  EXPECT_TRUE(ChoosePort(p).ok());
}

TEST(EngineOutput, LlamaServerLinesBecomeStages) {
  auto p = ParseLoadLine("0.00.026.808 I srv    load_model: loading model '/tmp/m.gguf'");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->stage, "loading model");
  EXPECT_FALSE(p->worth_probing);
  p = ParseLoadLine("0.03.547.383 I srv  llama_server: model loaded");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->stage, "model loaded");
  EXPECT_TRUE(p->worth_probing);
  EXPECT_FALSE(ParseLoadLine("W srv  llama_server: CORS is set to allow all origins"));
}

TEST(EngineOutput, PercentagesAreRead) {
  auto p = ParseLoadLine("downloading model: 42.5% done");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->progress, 0.425);
  p = ParseLoadLine("progress 7 %");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->progress, 0.07);
  p = ParseLoadLine("loading model tensors 100%");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->progress, 1.0);
  EXPECT_FALSE(ParseLoadLine("1234% is not a percentage of anything"));
  EXPECT_FALSE(ParseLoadLine("over quota: 100.5% used"));
  EXPECT_FALSE(ParseLoadLine("% alone"));
}

// A 3 MB line (engines print progress dots without newlines) must be scanned in linear time and
// constant stack: std::regex's backtracking overflowed the stack on a long run of digits.
TEST(EngineOutput, ThreeMegabyteLinesAreScannedSafely) {
  const size_t n = 3 << 20;
  std::string digits = "0." + std::string(n, '1') + "%";
  EXPECT_FALSE(ParseLoadLine(digits));
  std::string dots = std::string(n, '.') + " 55%";
  auto p = ParseLoadLine(dots);
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->progress, 0.55);
  std::string percents(n, '%');
  EXPECT_FALSE(ParseLoadLine(percents));
  std::string mixed;
  while (mixed.size() < n) mixed += "12.5 ";
  EXPECT_FALSE(ParseLoadLine(mixed));
  EXPECT_TRUE(IsAddressInUseLine(std::string(n, 'x') + "address already in use"));
}

TEST(EngineOutput, AddressInUseIsRecognised) {
  EXPECT_TRUE(IsAddressInUseLine(
      "0.00.002.738 E srv         start: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 42511"));
  EXPECT_TRUE(IsAddressInUseLine("OSError: [Errno 98] Address already in use"));
  EXPECT_FALSE(IsAddressInUseLine("listening on http://127.0.0.1:10500"));
}

TEST(SpawnSpec, LlamaServerArgvAddsJinjaUnlessGivenAndMarksTheOwner) {
  config::ModelConfig m;
  m.name = "default";
  m.model = "/m.gguf";
  m.args = {"-c", "4096"};
  m.env = {{"A", "1"}};
  auto spec = BuildSpawnSpec(m, "/bin/llama-server", 10501, "config-1");
  EXPECT_THAT(spec.argv, ElementsAre("/bin/llama-server", "-m", "/m.gguf", "--host", "127.0.0.1", "--port", "10501",
                                     "-c", "4096", "--jinja", "-lv", "4"));
  EXPECT_EQ(spec.env.at("A"), "1");
  EXPECT_EQ(spec.env.at(kOwnerEnv), "config-1");
  m.args = {"--no-jinja", "-lv", "2"};  // the entry's own choices win
  spec = BuildSpawnSpec(m, "/bin/llama-server", 10501);
  EXPECT_THAT(spec.argv, ElementsAre("/bin/llama-server", "-m", "/m.gguf", "--host", "127.0.0.1", "--port", "10501",
                                     "--no-jinja", "-lv", "2"));
}

TEST(SpawnSpec, CommandEntriesSubstituteMacrosInEveryArgument) {
  config::ModelConfig m;
  m.kind = config::ModelConfig::Kind::kCommand;
  m.model = "/models/x.gguf";
  m.command = {"vllm", "serve", "${MODEL}", "--port=${PORT}", "--tag", "${PORT}-${PORT}"};
  auto spec = BuildSpawnSpec(m, "", 8000);
  EXPECT_THAT(spec.argv, ElementsAre("vllm", "serve", "/models/x.gguf", "--port=8000", "--tag", "8000-8000"));
}

TEST(LogFiles, NamesAreEscapedInjectivelyAndStayInTheirDirectory) {
  EXPECT_EQ(FileNameFor("qwen2.5-1.5b_q4"), "qwen2.5-1.5b_q4");
  EXPECT_EQ(FileNameFor("qwen:7b"), "qwen%3A7b");
  EXPECT_NE(FileNameFor("a:b"), FileNameFor("a_b"));
  EXPECT_NE(FileNameFor("a%3Ab"), FileNameFor("a:b"));
  EXPECT_EQ(FileNameFor(".."), "%2E.");
  EXPECT_EQ(FileNameFor("../etc/passwd").find('/'), std::string::npos);
  EXPECT_EQ(FileNameFor("~x"), "%7Ex");
}

TEST(LogFiles, TwoConfigsWithTheSameModelNameGetDifferentLogs) {
  config::Config one, two;
  one.source = "/a/llm_backends.yaml";
  two.source = "/b/llm_backends.yaml";
  const auto p1 = LogFilePath(one, "qwen:7b", "/logs");
  const auto p2 = LogFilePath(two, "qwen:7b", "/logs");
  EXPECT_NE(p1, p2);
  EXPECT_EQ(p1.parent_path().parent_path(), "/logs");
  EXPECT_EQ(p1.filename(), "qwen%3A7b.log");
  EXPECT_EQ(LogFilePath(config::Config{}, "m", "/logs"), "/logs/defaults/m.log");
}

TEST(LogFiles, TailReadsTheLastLinesAndRefusesSymlinks) {
  test::TempDir dir;
  std::string text;
  for (int k = 0; k < 50000; ++k) text += "line " + std::to_string(k) + "\n";
  const auto file = dir.Write("a.log", text + "partial");
  auto tail = TailLogFile(file, 3);
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_THAT(*tail, ElementsAre("line 49998", "line 49999", "partial"));
  tail = TailLogFile(file, 0);
  ASSERT_TRUE(tail.ok());
  EXPECT_TRUE(tail->empty());
  EXPECT_EQ(TailLogFile(dir.path() / "none.log", 3).status().code(), Status::Code::kNotFound);
  std::filesystem::create_symlink(file, dir.path() / "link.log");
  EXPECT_EQ(TailLogFile(dir.path() / "link.log", 3).status().code(), Status::Code::kPermissionDenied);
  auto small = TailLogFile(dir.Write("b.log", "one\ntwo\n"), 10);
  ASSERT_TRUE(small.ok());
  EXPECT_THAT(*small, ElementsAre("one", "two"));
}

// A state file is input from disk: every shape must be survivable, none may kill anything.
TEST(StateStore, MalformedStateFilesAreIgnoredWithANote) {
  test::TempDir dir;
  const std::vector<std::string> shapes = {
      R"({"engines":[{"pid":"1"}]})",
      R"({"engines":[{"pid":1}]})",
      R"({"engines":[{"pid":-1,"start_time":0}]})",
      R"({"engines":[{"pid":1e30,"start_time":1}]})",
      R"({"engines":[{"pid":2,"start_time":"x"}]})",
      R"({"engines":[{"pid":2,"start_time":-5}]})",
      R"({"engines":[{"pid":2,"start_time":1,"pgid":1}]})",
      R"({"engines":[{"pid":2147483646,"start_time":1,"name":7,"port":"x","exe":[],"argv0":{}}]})",
      R"({"engines":[null,1,"x",[],{}]})",
      R"({"engines":{"pid":2}})",
      R"({"engines":null})",
      R"({"other":1})",
      R"([])",
      R"("engines")",
      R"({"engines":[)",
      "\xff\xfe garbage \x00",
      "",
      std::string(100000, '[') + std::string(100000, ']'),
  };
  for (const auto& shape : shapes) {
    auto store = StateStore::Open(dir.path() / "state", "/x/llm_backends.yaml");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::ofstream((*store)->state_path(), std::ios::binary) << shape;
    auto notes = (*store)->CleanStale();  // must not throw, crash or signal anything
    const bool usable_record = shape.find("argv0") != std::string::npos;  // well-formed where it matters
    if (!usable_record) {
      EXPECT_FALSE(notes.empty()) << shape.substr(0, 80);
    }
    std::string rewritten = test::ReadFileBytes((*store)->state_path());
    EXPECT_THAT(rewritten, HasSubstr("\"engines\": []")) << shape.substr(0, 80);
  }
}

}  // namespace
}  // namespace llmdesk::manager
