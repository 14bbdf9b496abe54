// store::History against a real SQLite file: round trips, streamed answers, a writer killed mid-answer,
// refused symlinks, and bad files — each with the Status a caller gets.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "store/history.h"
#include "support/test_support.h"

namespace llmdesk::store {
namespace {

using test::TempDir;

std::unique_ptr<History> OpenOrDie(const std::filesystem::path& file) {
  auto h = History::Open(file);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? std::move(h).value() : nullptr;
}

TEST(History, RoundTripsAConversationWithToolCalls) {
  TempDir dir;
  auto h = OpenOrDie(dir.path() / "history.db");
  ASSERT_TRUE(h);
  auto conv = h->CreateConversation("What's 2+2?", "default");
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  ASSERT_TRUE(h->AppendMessage(*conv, {.role = "user", .content = "What's 2+2?"}).ok());
  MessageRecord call{.role = "assistant"};
  call.tool_calls.push_back({"call_1", "llmdesk", "calculator", {{"expression", "2+2"}}, std::nullopt, false, 0});
  auto asked = h->AppendMessage(*conv, call);
  ASSERT_TRUE(asked.ok());
  ASSERT_TRUE(h->RecordToolResult(*asked, "call_1", "4", false, 3).ok());
  EXPECT_EQ(h->RecordToolResult(*asked, "nope", "4", false, 3).code(), Status::Code::kNotFound);
  ASSERT_TRUE(h->AppendMessage(*conv, {.role = "tool", .content = "4", .tool_call_id = "call_1"}).ok());
  ASSERT_TRUE(h->AppendMessage(*conv, {.role = "assistant", .content = "2+2 is 4."}).ok());

  auto got = h->Get(*conv);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->messages.size(), 4u);
  EXPECT_EQ(got->summary.title, "What's 2+2?");
  EXPECT_EQ(got->messages[1].tool_calls.at(0).tool, "calculator");
  EXPECT_EQ(got->messages[1].tool_calls.at(0).arguments["expression"], "2+2");
  EXPECT_EQ(got->messages[1].tool_calls.at(0).result, "4");
  EXPECT_EQ(got->messages[1].tool_calls.at(0).duration_ms, 3);
  EXPECT_EQ(got->messages[2].tool_call_id, "call_1");
  EXPECT_EQ(got->messages[3].content, "2+2 is 4.");
  auto json = ToJson(*got);
  EXPECT_EQ(json["messages"][1]["tool_calls"][0]["result"], "4");

  auto list = h->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].message_count, 4);
  ASSERT_TRUE(h->Remove(*conv).ok());
  EXPECT_EQ(h->Get(*conv).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(h->Remove(*conv).code(), Status::Code::kNotFound);
}

TEST(History, SurvivesReopenAndKeepsInvalidUtf8Readable) {
  TempDir dir;
  int64_t conv = 0;
  {
    auto h = OpenOrDie(dir.path() / "h.db");
    ASSERT_TRUE(h);
    conv = *h->CreateConversation("bytes", "m");
    ASSERT_TRUE(h->AppendMessage(conv, {.role = "user", .content = std::string("bad \xff\xfe bytes")}).ok());
  }
  auto h = OpenOrDie(dir.path() / "h.db");
  ASSERT_TRUE(h);
  auto got = h->Get(conv);
  ASSERT_TRUE(got.ok());
  EXPECT_NO_THROW(ToJson(*got).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// A writer killed with SIGKILL in the middle of a streamed answer: what it committed is there, marked
// incomplete, and the database opens normally.
TEST(History, KillNineMidAnswerKeepsCommittedTextMarkedIncomplete) {
  TempDir dir;
  const auto file = dir.path() / "h.db";
  int64_t conv = 0;
  {
    auto h = OpenOrDie(file);
    ASSERT_TRUE(h);
    conv = *h->CreateConversation("streamed", "m");
    ASSERT_TRUE(h->AppendMessage(conv, {.role = "user", .content = "tell me"}).ok());
  }
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t writer = fork();
  ASSERT_GE(writer, 0);
  if (writer == 0) {  // the writer: begins an answer, commits part of it, then hangs until killed
    close(ready[0]);
    auto h = History::Open(file);
    if (!h.ok()) _exit(1);
    auto msg = (*h)->BeginMessage(conv, "assistant");
    if (!msg.ok() || !(*h)->UpdateMessage(*msg, "The answer is").ok()) _exit(2);
    char one = 1;
    if (write(ready[1], &one, 1) != 1) _exit(3);
    for (;;) pause();
  }
  close(ready[1]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1) << "the writer did not get to its partial answer";
  close(ready[0]);
  kill(writer, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(writer, &status, 0), writer);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto h = OpenOrDie(file);
  ASSERT_TRUE(h);
  auto got = h->Get(conv);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->messages.size(), 2u);
  EXPECT_EQ(got->messages[0].content, "tell me");
  EXPECT_EQ(got->messages[1].content, "The answer is");
  EXPECT_EQ(got->messages[1].status, MessageRecord::Status::kIncomplete);
}

TEST(History, FinishMessageCommitsTheWholeAnswer) {
  TempDir dir;
  auto h = OpenOrDie(dir.path() / "h.db");
  ASSERT_TRUE(h);
  auto conv = *h->CreateConversation("t", "m");
  auto msg = h->BeginMessage(conv, "assistant");
  ASSERT_TRUE(msg.ok());
  ASSERT_TRUE(h->UpdateMessage(*msg, "par").ok());
  ASSERT_TRUE(h->FinishMessage(*msg, {.role = "assistant", .content = "partial no more", .meta = {{"ms", 12}}}).ok());
  EXPECT_EQ(h->UpdateMessage(*msg, "late").code(), Status::Code::kFailedPrecondition);
  auto got = h->Get(conv);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->messages.at(0).content, "partial no more");
  EXPECT_EQ(got->messages.at(0).status, MessageRecord::Status::kComplete);
  EXPECT_EQ(got->messages.at(0).meta["ms"], 12);
}

TEST(History, RefusesSymlinksAndNonDatabases) {
  TempDir dir;
  std::filesystem::create_symlink("/etc/passwd", dir.path() / "link.db");
  auto linked = History::Open(dir.path() / "link.db");
  EXPECT_EQ(linked.status().code(), Status::Code::kPermissionDenied) << linked.status().ToString();

  std::filesystem::create_directories(dir.path() / "real");
  std::filesystem::create_directory_symlink(dir.path() / "real", dir.path() / "dirlink");
  auto via_dir = History::Open(dir.path() / "dirlink" / "h.db");
  EXPECT_EQ(via_dir.status().code(), Status::Code::kPermissionDenied) << via_dir.status().ToString();

  std::ofstream(dir.path() / "junk.db") << std::string(8192, 'x');
  auto junk = History::Open(dir.path() / "junk.db");
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("not a readable llmdesk history database"), std::string::npos)
      << junk.status().ToString();
}

TEST(History, CreatesPrivateFiles) {
  TempDir dir;
  auto h = OpenOrDie(dir.path() / "data" / "h.db");
  ASSERT_TRUE(h);
  struct stat st{};
  ASSERT_EQ(stat((dir.path() / "data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat((dir.path() / "data" / "h.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace llmdesk::store
