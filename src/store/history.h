// store/history.h — chat history: conversations, messages, tool calls and their results in SQLite.
//
// What it does
//  - One SQLite database (default $XDG_DATA_HOME/llmdesk/history.db, i.e. ~/.local/share/llmdesk/history.db;
//    on Windows %LOCALAPPDATA%\llmdesk\history.db, any path UTF-8 in and UTF-16 at the API) in WAL mode, opened through SQLiteCpp. The schema is versioned (PRAGMA user_version) and migrated
//    forward on Open; a database from a newer llmdesk is refused rather than damaged.
//  - Every write is its own committed transaction: a message is committed as soon as it is complete, and a
//    streamed answer is committed as it grows (BeginMessage / UpdateMessage / FinishMessage), so a kill -9
//    in the middle of an answer loses nothing that was committed. A streaming message records its writer
//    (pid and process start time); once that process is gone, the next Open, List or Get marks the message
//    "incomplete" (a message another live process is streaming is left alone).
//  - Files are created 0600 in a 0700 directory; a database path that is a symlink is refused, and so is a
//    -wal, -shm or -journal beside it. Windows: a symbolic link or junction (reparse point) is refused the same
//    way; access is what the user's profile folder grants (store/files.h).
//
// Errors are values: SQLite's exceptions never leave this component. A full disk is IoError("the disk is
// full ..."); a database that is not SQLite or is corrupt is IoError naming the file and what to do.
//
// Threads: a History may be used from any number of threads; calls are serialised internally (one
// connection). Other processes may read and write the same file at the same time (WAL, busy timeout).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace llmdesk::store {

struct ToolCallRecord {
  std::string call_id;   // the model's id for the call (tool messages answer it)
  std::string server;    // MCP server name, e.g. "llmdesk"
  std::string tool;      // tool name
  nlohmann::json arguments = nlohmann::json::object();
  std::optional<std::string> result;  // text of the result; nullopt while it runs (or if it never ended)
  bool is_error = false;
  int64_t duration_ms = 0;
};

struct MessageRecord {
  enum class Status { kComplete, kStreaming, kIncomplete };
  int64_t id = 0;
  std::string role;      // "system" | "user" | "assistant" | "tool"
  std::string content;
  std::string tool_call_id;  // role "tool": the call it answers
  std::vector<ToolCallRecord> tool_calls;  // role "assistant": the calls it asked for
  Status status = Status::kComplete;
  int64_t created_ms = 0;    // Unix time in ms
  nlohmann::json meta = nlohmann::json::object();  // model, timings, usage, error text ...
};
const char* ToString(MessageRecord::Status s);

struct ConversationSummary {
  int64_t id = 0;
  std::string title;
  std::string model;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t message_count = 0;
};

struct Conversation {
  ConversationSummary summary;
  std::vector<MessageRecord> messages;  // in order
};

class History {
 public:
  // Opens (creating it, its directory, and the schema if needed) and migrates. Marks messages left
  // "streaming" by a dead writer as "incomplete".
  static Result<std::unique_ptr<History>> Open(const std::filesystem::path& file);
  // $XDG_DATA_HOME/llmdesk/history.db, else ~/.local/share/llmdesk/history.db (platform::UserDataDir: on
  // Windows %LOCALAPPDATA%\llmdesk\history.db).
  static std::filesystem::path DefaultPath();
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  Result<int64_t> CreateConversation(const std::string& title, const std::string& model);
  Status RenameConversation(int64_t conversation, const std::string& title);
  // A complete message (user prompt, tool result, a whole non-streamed answer). Returns its id.
  Result<int64_t> AppendMessage(int64_t conversation, const MessageRecord& message);
  // A streamed answer: a row that exists (status streaming) from the first token on.
  Result<int64_t> BeginMessage(int64_t conversation, const std::string& role);
  Status UpdateMessage(int64_t message, const std::string& content_so_far);
  // Ends a streamed message: content, the tool calls it asked for, meta; status complete, or incomplete
  // when it was cancelled or failed (meta says why).
  Status FinishMessage(int64_t message, const MessageRecord& final_state);
  // Records the outcome of one tool call of an assistant message.
  Status RecordToolResult(int64_t message, const std::string& call_id, const std::string& result, bool is_error,
                          int64_t duration_ms);

  Result<std::vector<ConversationSummary>> List(size_t limit = 100);
  Result<Conversation> Get(int64_t conversation);
  Status Remove(int64_t conversation);  // NotFound when there is no such conversation

  const std::filesystem::path& path() const;

 private:
  struct Impl;
  explicit History(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The transcript as JSON: {id, title, model, created_ms, updated_ms, messages: [{id, role, content, status,
// created_ms, tool_call_id?, tool_calls?: [{id, server, tool, arguments, result, is_error, duration_ms}],
// meta}]}. Invalid UTF-8 in stored text is replaced when dumped.
nlohmann::json ToJson(const Conversation& conversation);
nlohmann::json ToJson(const ConversationSummary& summary);

}  // namespace llmdesk::store
