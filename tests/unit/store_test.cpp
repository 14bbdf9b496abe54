// store::History against a real SQLite file: round trips, streamed answers, a writer killed mid-answer,
// refused symlinks, and bad files — each with the Status a caller gets.
#include <gtest/gtest.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include <SQLiteCpp/SQLiteCpp.h>

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

// A disk that fills up mid-conversation: a 1 MiB tmpfs, mounted in a private mount namespace of a child
// process (so nothing outside the test sees it; this needs root or CAP_SYS_ADMIN, which the test machines
// have), holds the database and a ballast file. Messages are saved until the disk is full: that save is a
// clear error, every message saved before it is still there after reopening, the database passes SQLite's
// integrity check, and once the ballast is gone it takes new messages again.
TEST(History, AFullDiskIsAClearErrorAndLosesNothingSaved) {
  TempDir dir;
  const auto mount_point = dir.path() / "small-disk";
  std::filesystem::create_directories(mount_point);
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(report[0]);
    auto say = [&](const std::string& line) {
      const std::string text = line + "\n";
      if (write(report[1], text.data(), text.size()) != static_cast<ssize_t>(text.size())) _exit(3);
    };
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=1m") != 0) {
      say(std::string("mount: cannot mount a small tmpfs for this test (it needs root or CAP_SYS_ADMIN): ") +
          strerror(errno));
      _exit(0);
    }
    std::ofstream(mount_point / "ballast") << std::string(256 * 1024, 'b');
    const auto file = mount_point / "h.db";
    int saved = 0;
    int64_t conv = 0;
    {
      auto h = History::Open(file);
      if (!h.ok()) _exit(4);
      conv = *(*h)->CreateConversation("filling", "m");
      std::string error;
      for (int i = 0; i < 1000 && error.empty(); ++i) {
        auto id = (*h)->AppendMessage(conv, {.role = "user", .content = std::to_string(i) + std::string(8192, 'x')});
        if (id.ok()) ++saved;
        else error = id.status().ToString();
      }
      say("saved: " + std::to_string(saved));
      say("error: " + error);
    }
    std::filesystem::remove(mount_point / "ballast");
    auto h = History::Open(file);
    if (!h.ok()) {
      say("reopen: " + h.status().ToString());
      _exit(0);
    }
    auto conversation = (*h)->Get(conv);
    say("messages: " + (conversation.ok() ? std::to_string(conversation->messages.size()) : conversation.status().ToString()));
    bool in_order = conversation.ok();
    for (int i = 0; in_order && i < saved; ++i)
      in_order = conversation->messages[i].content.rfind(std::to_string(i) + "x", 0) == 0;
    say(std::string("in order: ") + (in_order ? "yes" : "no"));
    say("append after room: " + (*h)->AppendMessage(conv, {.role = "user", .content = "room again"}).status().ToString());
    SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
    say("integrity: " + db.execAndGet("PRAGMA integrity_check").getString());
    _exit(0);
  }
  close(report[1]);
  std::string got;
  char buffer[4096];
  for (ssize_t n; (n = read(report[0], buffer, sizeof buffer)) > 0;) got.append(buffer, static_cast<size_t>(n));
  close(report[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the writer died: status " << status << "\n" << got;
  auto field = [&](const std::string& name) {
    const size_t at = got.find(name + ": ");
    if (at == std::string::npos) return std::string("<missing>");
    const size_t from = at + name.size() + 2;
    return got.substr(from, got.find('\n', from) - from);
  };
  ASSERT_EQ(got.find("mount: "), std::string::npos) << got;
  const int saved = std::stoi(field("saved"));
  EXPECT_GT(saved, 0) << got;
  EXPECT_NE(field("error").find("the disk is full"), std::string::npos) << got;
  EXPECT_NE(field("error").find("what was saved before is intact"), std::string::npos) << got;
  EXPECT_EQ(field("messages"), std::to_string(saved)) << got;
  EXPECT_EQ(field("in order"), "yes") << got;
  EXPECT_EQ(field("append after room"), "ok") << got;
  EXPECT_EQ(field("integrity"), "ok") << got;
}

// Another process streaming an answer right now (`llmdesk serve`) is not "dead": `llmdesk history` opening
// the same db must not mark its message incomplete (which would also stop its progressive saves).
TEST(History, ALiveWritersAnswerStaysStreamingUntilItDies) {
  TempDir dir;
  const auto file = dir.path() / "h.db";
  int64_t conv = 0;
  {
    auto h = OpenOrDie(file);
    ASSERT_TRUE(h);
    conv = *h->CreateConversation("streamed", "m");
  }
  int ready[2], go[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(go), 0);
  pid_t writer = fork();
  ASSERT_GE(writer, 0);
  if (writer == 0) {  // begins an answer, waits for the go, saves more, then hangs until killed
    close(ready[0]);
    close(go[1]);
    auto h = History::Open(file);
    if (!h.ok()) _exit(1);
    auto msg = (*h)->BeginMessage(conv, "assistant");
    if (!msg.ok() || !(*h)->UpdateMessage(*msg, "The answer").ok()) _exit(2);
    char one = 1;
    if (write(ready[1], &one, 1) != 1) _exit(3);
    if (read(go[0], &one, 1) != 1) _exit(4);
    if (!(*h)->UpdateMessage(*msg, "The answer is").ok()) _exit(5);
    if (write(ready[1], &one, 1) != 1) _exit(6);
    for (;;) pause();
  }
  close(ready[1]);
  close(go[0]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  {
    auto reader = OpenOrDie(file);  // as `llmdesk history show` does, while the writer streams
    ASSERT_TRUE(reader);
    auto got = reader->Get(conv);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->messages.size(), 1u);
    EXPECT_EQ(got->messages[0].status, MessageRecord::Status::kStreaming) << "the writer is alive";
  }
  ASSERT_EQ(write(go[1], &byte, 1), 1);
  ASSERT_EQ(read(ready[0], &byte, 1), 1) << "the writer could not save after a reader opened the db";
  kill(writer, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(writer, &status, 0), writer);
  close(ready[0]);
  close(go[1]);
  auto h = OpenOrDie(file);
  ASSERT_TRUE(h);
  auto got = h->Get(conv);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->messages.at(0).content, "The answer is");
  EXPECT_EQ(got->messages.at(0).status, MessageRecord::Status::kIncomplete);
}

TEST(History, MigratesAVersionOneDatabaseAndMarksItsOrphans) {
  TempDir dir;
  const auto file = dir.path() / "old.db";
  {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(R"sql(
      CREATE TABLE conversations(id INTEGER PRIMARY KEY, title TEXT NOT NULL, model TEXT NOT NULL,
        created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
      CREATE TABLE messages(id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL, content TEXT NOT NULL DEFAULT '', tool_call_id TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL, created_ms INTEGER NOT NULL, meta TEXT NOT NULL DEFAULT '{}');
      CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
      CREATE TABLE tool_calls(message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        position INTEGER NOT NULL, call_id TEXT NOT NULL, server TEXT NOT NULL, tool TEXT NOT NULL,
        arguments TEXT NOT NULL, result TEXT, is_error INTEGER NOT NULL DEFAULT 0,
        duration_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(message_id, position));
      INSERT INTO conversations VALUES(1, 'old', 'm', 1, 1);
      INSERT INTO messages(conversation_id, role, content, status, created_ms) VALUES(1, 'user', 'q', 'complete', 1);
      INSERT INTO messages(conversation_id, role, content, status, created_ms) VALUES(1, 'assistant', 'half', 'streaming', 2);
      PRAGMA user_version = 1;
    )sql");
  }
  auto h = OpenOrDie(file);
  ASSERT_TRUE(h);
  auto got = h->Get(1);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->messages.size(), 2u);
  EXPECT_EQ(got->messages[1].content, "half");
  EXPECT_EQ(got->messages[1].status, MessageRecord::Status::kIncomplete) << "no writer recorded: nobody is writing it";
  auto msg = h->BeginMessage(1, "assistant");
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  EXPECT_TRUE(h->UpdateMessage(*msg, "new").ok());
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
