// History over SQLiteCpp: schema and migrations, one serialised connection, exceptions turned into Status
// at every public entry point (see history.h for the contract).
#include "store/history.h"

#include <sqlite3.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <iterator>
#include <mutex>
#include <stdexcept>

#include "platform/user_dirs.h"
#include "store/files.h"

namespace llmdesk::store {
namespace {

using Json = nlohmann::json;

// Migration k takes the schema from user_version k to k+1. Append only; never edit a released one.
const char* const kMigrations[] = {
    R"sql(
    CREATE TABLE conversations(
      id INTEGER PRIMARY KEY, title TEXT NOT NULL, model TEXT NOT NULL,
      created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
    CREATE TABLE messages(
      id INTEGER PRIMARY KEY,
      conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
      role TEXT NOT NULL, content TEXT NOT NULL DEFAULT '', tool_call_id TEXT NOT NULL DEFAULT '',
      status TEXT NOT NULL, created_ms INTEGER NOT NULL, meta TEXT NOT NULL DEFAULT '{}');
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    CREATE TABLE tool_calls(
      message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE, position INTEGER NOT NULL,
      call_id TEXT NOT NULL, server TEXT NOT NULL, tool TEXT NOT NULL, arguments TEXT NOT NULL,
      result TEXT, is_error INTEGER NOT NULL DEFAULT 0, duration_ms INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY(message_id, position));
    )sql",
    // Who writes a streaming message ("pid:start-time"), so that only a dead writer's answer is marked
    // incomplete — not one another process is streaming right now.
    R"sql(
    ALTER TABLE messages ADD COLUMN writer TEXT NOT NULL DEFAULT '';
    CREATE INDEX messages_streaming ON messages(id) WHERE status = 'streaming';
    )sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json ParseOr(const std::string& text, Json fallback) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? fallback : j;
}

MessageRecord::Status StatusFrom(const std::string& s) {
  if (s == "streaming") return MessageRecord::Status::kStreaming;
  if (s == "incomplete") return MessageRecord::Status::kIncomplete;
  return MessageRecord::Status::kComplete;
}

// Whether the writer recorded as "pid:start-time" is still running.
bool WriterAlive(const std::string& writer) {
  const size_t colon = writer.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 9) return false;
  const std::string pid = writer.substr(0, colon);
  if (pid.find_first_not_of("0123456789") != std::string::npos) return false;
  return ProcessIdentity(std::stoll(pid)) == writer;
}

// Paths in messages and for SQLite (which takes UTF-8 file names on every platform): never path::string(), which
// is the ANSI code page on Windows.
std::string Utf8(const std::filesystem::path& p) { return platform::PathToUtf8(p); }

// The Status for a failed SQLite call, with what to do about it.
Status FromSqlite(const std::filesystem::path& file, const std::string& what, int code, const std::string& message) {
  const int primary = code & 0xff;
  if (primary == SQLITE_FULL)
    return Status::IoError("the disk is full: cannot " + what + " in " + Utf8(file) +
                           "; free some space (what was saved before is intact)");
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
    return Status::IoError(Utf8(file) + " is not a readable llmdesk history database (" + message +
                           "); move it away and llmdesk starts a new one");
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
    return Status::Unavailable("the history database " + Utf8(file) + " is busy (" + message + "); try again");
  return Status::IoError("cannot " + what + " in " + Utf8(file) + ": " + message);
}

}  // namespace

const char* ToString(MessageRecord::Status s) {
  switch (s) {
    case MessageRecord::Status::kComplete: return "complete";
    case MessageRecord::Status::kStreaming: return "streaming";
    case MessageRecord::Status::kIncomplete: return "incomplete";
  }
  return "complete";
}

struct History::Impl {
  std::filesystem::path file;
  std::mutex mu;  // one connection, serialised
  std::unique_ptr<SQLite::Database> db;

  // Runs `fn` under the lock, turning SQLite's exceptions into a Status.
  template <typename Fn>
  auto Run(const std::string& what, Fn&& fn) -> decltype(fn()) {
    std::lock_guard lock(mu);
    try {
      return fn();
    } catch (const SQLite::Exception& e) {
      return FromSqlite(file, what, e.getExtendedErrorCode(), e.what());
    } catch (const std::exception& e) {
      return Status::Internal("cannot " + what + ": " + e.what());
    }
  }

  void Migrate() {
    int version = db->execAndGet("PRAGMA user_version").getInt();
    if (version > kSchemaVersion)
      throw std::runtime_error("the database was written by a newer llmdesk (schema " + std::to_string(version) +
                               ", this one knows " + std::to_string(kSchemaVersion) + ")");
    for (; version < kSchemaVersion; ++version) {
      SQLite::Transaction tx(*db);
      db->exec(kMigrations[version]);
      db->exec("PRAGMA user_version = " + std::to_string(version + 1));
      tx.commit();
    }
  }

  void TouchConversation(int64_t conversation) {
    SQLite::Statement q(*db, "UPDATE conversations SET updated_ms = ? WHERE id = ?");
    q.bind(1, NowMs());
    q.bind(2, conversation);
    q.exec();
  }

  void InsertToolCalls(int64_t message, const std::vector<ToolCallRecord>& calls) {
    SQLite::Statement del(*db, "DELETE FROM tool_calls WHERE message_id = ?");
    del.bind(1, message);
    del.exec();
    for (size_t k = 0; k < calls.size(); ++k) {
      const auto& c = calls[k];
      SQLite::Statement q(*db,
                          "INSERT INTO tool_calls(message_id, position, call_id, server, tool, arguments, result, "
                          "is_error, duration_ms) VALUES(?,?,?,?,?,?,?,?,?)");
      q.bind(1, message);
      q.bind(2, static_cast<int64_t>(k));
      q.bind(3, c.call_id);
      q.bind(4, c.server);
      q.bind(5, c.tool);
      q.bind(6, Dump(c.arguments));
      if (c.result) q.bind(7, *c.result);
      else q.bind(7);
      q.bind(8, c.is_error ? 1 : 0);
      q.bind(9, c.duration_ms);
      q.exec();
    }
  }

  // Streaming answers whose writer died (kill -9, a crash, a power cut) keep what was committed, marked
  // incomplete. Cheap when nothing streams (a partial index holds only streaming rows).
  void MarkOrphans() {
    SQLite::Statement q(*db, "SELECT id, writer FROM messages WHERE status = 'streaming'");
    std::vector<int64_t> orphans;
    while (q.executeStep())
      if (!WriterAlive(q.getColumn(1).getString())) orphans.push_back(q.getColumn(0).getInt64());
    for (int64_t id : orphans) {
      SQLite::Statement u(*db, "UPDATE messages SET status = 'incomplete' WHERE id = ? AND status = 'streaming'");
      u.bind(1, id);
      u.exec();
    }
  }

  int64_t ConversationOf(int64_t message) {
    SQLite::Statement q(*db, "SELECT conversation_id FROM messages WHERE id = ?");
    q.bind(1, message);
    if (!q.executeStep()) return 0;
    return q.getColumn(0).getInt64();
  }
};

History::History(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
History::~History() = default;

std::filesystem::path History::DefaultPath() {
  auto data = platform::UserDataDir(platform::ProcessEnvValue);  // $XDG_DATA_HOME or ~/.local/share; %LOCALAPPDATA%
  if (data.empty()) data = platform::PathFromUtf8("/tmp/.local/share");  // no home at all: as before the seam
  return data / "llmdesk" / "history.db";
}

const std::filesystem::path& History::path() const { return impl_->file; }

Result<std::unique_ptr<History>> History::Open(const std::filesystem::path& file) {
  if (Status s = PrepareDirectory(file.parent_path().empty() ? "." : file.parent_path()); !s.ok()) return s;
  if (Status s = PrepareFile(file); !s.ok()) return s;
  if (Status s = RefuseCompanionSymlinks(file); !s.ok()) return s;
  auto impl = std::make_unique<Impl>();
  impl->file = file;
  Status opened = impl->Run("open the history", [&]() -> Status {
    impl->db = std::make_unique<SQLite::Database>(Utf8(file), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    impl->db->setBusyTimeout(5000);
    impl->db->exec("PRAGMA journal_mode = WAL");
    impl->db->exec("PRAGMA synchronous = NORMAL");  // WAL + NORMAL: durable across a crash of llmdesk
    impl->db->exec("PRAGMA foreign_keys = ON");
    impl->Migrate();
    impl->MarkOrphans();
    return Status::Ok();
  });
  if (!opened.ok()) return opened;
  return std::unique_ptr<History>(new History(std::move(impl)));
}

Result<int64_t> History::CreateConversation(const std::string& title, const std::string& model) {
  return impl_->Run("create a conversation", [&]() -> Result<int64_t> {
    SQLite::Statement q(*impl_->db, "INSERT INTO conversations(title, model, created_ms, updated_ms) VALUES(?,?,?,?)");
    const int64_t now = NowMs();
    q.bind(1, title);
    q.bind(2, model);
    q.bind(3, now);
    q.bind(4, now);
    q.exec();
    return impl_->db->getLastInsertRowid();
  });
}

Status History::RenameConversation(int64_t conversation, const std::string& title) {
  return impl_->Run("rename a conversation", [&]() -> Status {
    SQLite::Statement q(*impl_->db, "UPDATE conversations SET title = ? WHERE id = ?");
    q.bind(1, title);
    q.bind(2, conversation);
    if (q.exec() == 0) return Status::NotFound("no conversation " + std::to_string(conversation));
    return Status::Ok();
  });
}

Result<int64_t> History::AppendMessage(int64_t conversation, const MessageRecord& m) {
  return impl_->Run("save a message", [&]() -> Result<int64_t> {
    SQLite::Transaction tx(*impl_->db);
    SQLite::Statement q(*impl_->db,
                        "INSERT INTO messages(conversation_id, role, content, tool_call_id, status, created_ms, meta) "
                        "VALUES(?,?,?,?,?,?,?)");
    q.bind(1, conversation);
    q.bind(2, m.role);
    q.bind(3, m.content);
    q.bind(4, m.tool_call_id);
    q.bind(5, ToString(m.status == MessageRecord::Status::kStreaming ? MessageRecord::Status::kIncomplete : m.status));
    q.bind(6, m.created_ms ? m.created_ms : NowMs());
    q.bind(7, Dump(m.meta));
    q.exec();
    const int64_t id = impl_->db->getLastInsertRowid();
    impl_->InsertToolCalls(id, m.tool_calls);
    impl_->TouchConversation(conversation);
    tx.commit();
    return id;
  });
}

Result<int64_t> History::BeginMessage(int64_t conversation, const std::string& role) {
  return impl_->Run("start a message", [&]() -> Result<int64_t> {
    SQLite::Statement q(*impl_->db,
                        "INSERT INTO messages(conversation_id, role, status, created_ms, writer) "
                        "VALUES(?,?,'streaming',?,?)");
    q.bind(1, conversation);
    q.bind(2, role);
    q.bind(3, NowMs());
    q.bind(4, ProcessIdentity(CurrentProcessId()));
    q.exec();
    return impl_->db->getLastInsertRowid();
  });
}

Status History::UpdateMessage(int64_t message, const std::string& content_so_far) {
  return impl_->Run("save a partial answer", [&]() -> Status {
    SQLite::Statement q(*impl_->db, "UPDATE messages SET content = ? WHERE id = ? AND status = 'streaming'");
    q.bind(1, content_so_far);
    q.bind(2, message);
    if (q.exec() == 0) return Status::FailedPrecondition("message " + std::to_string(message) + " is not streaming");
    return Status::Ok();
  });
}

Status History::FinishMessage(int64_t message, const MessageRecord& m) {
  return impl_->Run("finish a message", [&]() -> Status {
    SQLite::Transaction tx(*impl_->db);
    SQLite::Statement q(*impl_->db, "UPDATE messages SET content = ?, status = ?, meta = ? WHERE id = ?");
    q.bind(1, m.content);
    q.bind(2, ToString(m.status == MessageRecord::Status::kStreaming ? MessageRecord::Status::kComplete : m.status));
    q.bind(3, Dump(m.meta));
    q.bind(4, message);
    if (q.exec() == 0) return Status::NotFound("no message " + std::to_string(message));
    impl_->InsertToolCalls(message, m.tool_calls);
    if (int64_t conversation = impl_->ConversationOf(message)) impl_->TouchConversation(conversation);
    tx.commit();
    return Status::Ok();
  });
}

Status History::RecordToolResult(int64_t message, const std::string& call_id, const std::string& result,
                                 bool is_error, int64_t duration_ms) {
  return impl_->Run("save a tool result", [&]() -> Status {
    SQLite::Statement q(*impl_->db,
                        "UPDATE tool_calls SET result = ?, is_error = ?, duration_ms = ? WHERE message_id = ? AND "
                        "call_id = ?");
    q.bind(1, result);
    q.bind(2, is_error ? 1 : 0);
    q.bind(3, duration_ms);
    q.bind(4, message);
    q.bind(5, call_id);
    if (q.exec() == 0) return Status::NotFound("message " + std::to_string(message) + " has no tool call " + call_id);
    return Status::Ok();
  });
}

Result<std::vector<ConversationSummary>> History::List(size_t limit) {
  return impl_->Run("list conversations", [&]() -> Result<std::vector<ConversationSummary>> {
    impl_->MarkOrphans();
    SQLite::Statement q(*impl_->db,
                        "SELECT c.id, c.title, c.model, c.created_ms, c.updated_ms, "
                        "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) "
                        "FROM conversations c ORDER BY c.updated_ms DESC, c.id DESC LIMIT ?");
    q.bind(1, static_cast<int64_t>(limit));
    std::vector<ConversationSummary> out;
    while (q.executeStep()) {
      out.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                     q.getColumn(3).getInt64(), q.getColumn(4).getInt64(), q.getColumn(5).getInt64()});
    }
    return out;
  });
}

Result<Conversation> History::Get(int64_t conversation) {
  return impl_->Run("read a conversation", [&]() -> Result<Conversation> {
    impl_->MarkOrphans();
    SQLite::Statement c(*impl_->db,
                        "SELECT id, title, model, created_ms, updated_ms FROM conversations WHERE id = ?");
    c.bind(1, conversation);
    if (!c.executeStep()) return Status::NotFound("no conversation " + std::to_string(conversation));
    Conversation out;
    out.summary = {c.getColumn(0).getInt64(), c.getColumn(1).getString(), c.getColumn(2).getString(),
                   c.getColumn(3).getInt64(), c.getColumn(4).getInt64(), 0};
    SQLite::Statement m(*impl_->db,
                        "SELECT id, role, content, tool_call_id, status, created_ms, meta FROM messages "
                        "WHERE conversation_id = ? ORDER BY id");
    m.bind(1, conversation);
    while (m.executeStep()) {
      MessageRecord r;
      r.id = m.getColumn(0).getInt64();
      r.role = m.getColumn(1).getString();
      r.content = m.getColumn(2).getString();
      r.tool_call_id = m.getColumn(3).getString();
      r.status = StatusFrom(m.getColumn(4).getString());
      r.created_ms = m.getColumn(5).getInt64();
      r.meta = ParseOr(m.getColumn(6).getString(), Json::object());
      out.messages.push_back(std::move(r));
    }
    SQLite::Statement t(*impl_->db,
                        "SELECT call_id, server, tool, arguments, result, is_error, duration_ms FROM tool_calls "
                        "WHERE message_id = ? ORDER BY position");
    for (auto& r : out.messages) {
      t.reset();
      t.bind(1, r.id);
      while (t.executeStep()) {
        ToolCallRecord call{t.getColumn(0).getString(), t.getColumn(1).getString(), t.getColumn(2).getString(),
                            ParseOr(t.getColumn(3).getString(), Json::object()), std::nullopt,
                            t.getColumn(5).getInt() != 0, t.getColumn(6).getInt64()};
        if (!t.getColumn(4).isNull()) call.result = t.getColumn(4).getString();
        r.tool_calls.push_back(std::move(call));
      }
    }
    out.summary.message_count = static_cast<int64_t>(out.messages.size());
    return out;
  });
}

Status History::Remove(int64_t conversation) {
  return impl_->Run("remove a conversation", [&]() -> Status {
    SQLite::Statement q(*impl_->db, "DELETE FROM conversations WHERE id = ?");
    q.bind(1, conversation);
    if (q.exec() == 0) return Status::NotFound("no conversation " + std::to_string(conversation));
    return Status::Ok();
  });
}

Json ToJson(const ConversationSummary& s) {
  return {{"id", s.id},           {"title", s.title},           {"model", s.model},
          {"created_ms", s.created_ms}, {"updated_ms", s.updated_ms}, {"message_count", s.message_count}};
}

Json ToJson(const Conversation& c) {
  Json out = ToJson(c.summary);
  Json messages = Json::array();
  for (const auto& m : c.messages) {
    Json j = {{"id", m.id}, {"role", m.role}, {"content", m.content}, {"status", ToString(m.status)},
              {"created_ms", m.created_ms}, {"meta", m.meta}};
    if (!m.tool_call_id.empty()) j["tool_call_id"] = m.tool_call_id;
    if (!m.tool_calls.empty()) {
      Json calls = Json::array();
      for (const auto& t : m.tool_calls)
        calls.push_back({{"id", t.call_id}, {"server", t.server}, {"tool", t.tool}, {"arguments", t.arguments},
                         {"result", t.result ? Json(*t.result) : Json(nullptr)}, {"is_error", t.is_error},
                         {"duration_ms", t.duration_ms}});
      j["tool_calls"] = calls;
    }
    messages.push_back(std::move(j));
  }
  out["messages"] = messages;
  return out;
}

}  // namespace llmdesk::store
