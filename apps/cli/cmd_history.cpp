// `llmdesk history list|show ID|export ID|rm ID`: the chat history in store::History (SQLite).
#include <iostream>

#include "cli.h"
#include "store/history.h"

namespace llmdesk::cli {
namespace {

using Json = nlohmann::json;

std::unique_ptr<store::History> OpenHistory(Context& ctx) {
  auto h = store::History::Open(store::History::DefaultPath());
  if (!h.ok()) {
    std::cerr << "llmdesk: " << h.status().message() << "\n";
    ctx.exit_code = kExitFailure;
    return nullptr;
  }
  return std::move(h).value();
}

void PrintTranscript(const store::Conversation& c) {
  std::cout << "# " << c.summary.title << "  (conversation " << c.summary.id << ", model " << c.summary.model << ")\n";
  for (const auto& m : c.messages) {
    std::cout << "\n" << m.role;
    if (m.status != store::MessageRecord::Status::kComplete) std::cout << " [" << store::ToString(m.status) << "]";
    std::cout << ":\n";
    if (!m.content.empty()) std::cout << m.content << "\n";
    for (const auto& t : m.tool_calls) {
      std::cout << "  -> " << t.tool << " " << t.arguments.dump(-1, ' ', false, Json::error_handler_t::replace);
      if (t.result) std::cout << "  => " << (t.is_error ? "error: " : "") << *t.result << " (" << t.duration_ms << " ms)";
      std::cout << "\n";
    }
  }
}

}  // namespace

void RegisterHistoryCommands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("history", "Saved chat conversations (SQLite, $XDG_DATA_HOME/llmdesk/history.db)");
  group->require_subcommand(1);
  struct Args {
    int64_t id = 0;
    bool json = false;
    size_t limit = 50;
  };
  auto args = std::make_shared<Args>();

  auto* list = group->add_subcommand("list", "List conversations, newest first");
  list->add_flag("--json", args->json, "Machine-readable output");
  list->add_option("-n,--limit", args->limit, "How many")->capture_default_str();
  list->callback([&ctx, args] {
    auto h = OpenHistory(ctx);
    if (!h) return;
    auto rows = h->List(args->limit);
    if (!rows.ok()) {
      std::cerr << "llmdesk: " << rows.status().message() << "\n";
      ctx.exit_code = kExitFailure;
      return;
    }
    if (args->json) {
      Json out = Json::array();
      for (const auto& r : *rows) out.push_back(store::ToJson(r));
      std::cout << PrettyJson(out) << "\n";
      return;
    }
    if (rows->empty()) std::cout << "no conversations yet\n";
    for (const auto& r : *rows)
      std::cout << r.id << "\t" << r.message_count << " messages\t" << r.model << "\t" << r.title << "\n";
  });

  for (const char* verb : {"show", "export"}) {
    const bool as_json = std::string(verb) == "export";
    auto* cmd = group->add_subcommand(verb, as_json ? "Print a conversation as JSON (messages, tool calls, timings)"
                                                    : "Print a conversation");
    cmd->add_option("ID", args->id, "Conversation id (from `llmdesk history list`)")->required();
    if (!as_json) cmd->add_flag("--json", args->json, "Same as export");
    cmd->callback([&ctx, args, as_json] {
      auto h = OpenHistory(ctx);
      if (!h) return;
      auto c = h->Get(args->id);
      if (!c.ok()) {
        std::cerr << "llmdesk: " << c.status().message() << "\n";
        ctx.exit_code = kExitFailure;
        return;
      }
      if (as_json || args->json) std::cout << PrettyJson(store::ToJson(*c)) << "\n";
      else PrintTranscript(*c);
    });
  }

  auto* rm = group->add_subcommand("rm", "Delete a conversation");
  rm->add_option("ID", args->id, "Conversation id")->required();
  rm->callback([&ctx, args] {
    auto h = OpenHistory(ctx);
    if (!h) return;
    if (Status s = h->Remove(args->id); !s.ok()) {
      std::cerr << "llmdesk: " << s.message() << "\n";
      ctx.exit_code = kExitFailure;
      return;
    }
    std::cout << "deleted conversation " << args->id << "\n";
  });
}

}  // namespace llmdesk::cli
