// `llmdesk chat [-m MODEL] [--no-tools] [--json] [PROMPT]`: one question (or a REPL without PROMPT) through the
// agent loop. Attaches to the running `llmdesk up`/`serve` for the config (POST /api/chat), else runs the
// stack itself for the chat's duration. Progress goes to stderr, the answer to stdout; --json prints the
// transcript (events, answer, usage) instead. The rendering below reads the same JSON events either way.
#include <unistd.h>

#include <iostream>

#include "chat/service.h"
#include "cli.h"
#include "control/control.h"
#include "signals.h"
#include "stack/stack.h"

namespace llmdesk::cli {
namespace {

using Json = nlohmann::json;

struct ChatArgs {
  std::string model, prompt;
  bool no_tools = false, json = false;
};

// Turns the event stream into what a person sees: progress on stderr, tokens on stdout.
class Renderer {
 public:
  explicit Renderer(bool json) : json_(json), tty_(isatty(STDERR_FILENO)) {}

  void On(const std::string& event, const Json& data) {
    if (json_) {
      events_.push_back({{"event", event}, {"data", data}});
      if (event == "done") answer_ = data;
      return;
    }
    const std::string kind = data.value("kind", event);
    if (kind == "token") {
      std::cout << data.value("text", "") << std::flush;
      wrote_answer_ = true;
      return;
    }
    if (kind == "final") {
      if (!wrote_answer_) std::cout << data.value("text", "");
      std::cout << "\n" << std::flush;
      return;
    }
    // The same lines as the desktop app's progress line (control::ChatEventLine).
    std::string line = control::ChatEventLine(event, data);
    if (!line.empty()) Progress(line);
  }
  void PrintTranscript() const {
    if (json_) std::cout << Json{{"events", events_}, {"result", answer_}}.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  }

 private:
  void Progress(const std::string& line) {
    if (wrote_answer_) std::cout << "\n" << std::flush, wrote_answer_ = false;
    std::cerr << (tty_ ? "\x1b[2m" : "") << line << (tty_ ? "\x1b[0m" : "") << "\n" << std::flush;
  }
  bool json_, tty_;
  bool wrote_answer_ = false;
  Json events_ = Json::array();
  Json answer_;
};

// Asks the person at the terminal; without a terminal the answer is deny.
chat::ApprovalAnswer AskOnTty(const std::string& tool, const Json& arguments) {
  if (!isatty(STDIN_FILENO)) return chat::ApprovalAnswer::kNoAnswer;  // nobody to ask: counts as deny
  std::cerr << "Allow " << tool << " " << arguments.dump(-1, ' ', false, Json::error_handler_t::replace)
            << "? [y]es once / [a]lways / [n]o: " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  if (answer == "y" || answer == "yes") return chat::ApprovalAnswer::kAllowOnce;
  if (answer == "a" || answer == "always") return chat::ApprovalAnswer::kAllowAlways;
  return chat::ApprovalAnswer::kDeny;
}

// One turn through a running daemon. Returns the exit code.
int TurnViaDaemon(control::ControlClient& client, const ChatArgs& args, const std::string& prompt,
                  std::optional<int64_t>& conversation, Renderer& out) {
  Json body = {{"prompt", prompt}, {"tools", !args.no_tools}};
  if (!args.model.empty()) body["model"] = args.model;
  if (conversation) body["conversation"] = *conversation;
  std::string run, failure;
  bool done = false;
  Status s = client.Chat(body, [&](const std::string& event, const Json& data) {
    if (event == "run") run = data.value("run", "");
    if (event == "conversation") conversation = data.value("conversation", int64_t{0});
    if (event == "approval_needed") {
      auto a = AskOnTty(data.value("tool", ""), data.value("arguments", Json()));
      const char* answer = a == chat::ApprovalAnswer::kAllowOnce ? "once" : a == chat::ApprovalAnswer::kAllowAlways ? "always" : "deny";
      (void)client.Approve(run, data.value("call_id", ""), answer);
    }
    if (event == "done") done = true;
    if (event == "failed") failure = data.value("message", "the chat failed");
    out.On(event, data);
    return true;
  });
  if (!s.ok()) failure = s.message();
  if (!failure.empty() || !done) {
    std::cerr << "llmdesk chat: " << (failure.empty() ? "the stream ended before the answer" : failure) << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

// One turn in this process's own stack.
int TurnInProcess(stack::Stack& stack, const ChatArgs& args, const std::string& prompt,
                  std::optional<int64_t>& conversation, CancelToken& cancel, Renderer& out) {
  chat::TurnRequest turn{.model = args.model, .prompt = prompt, .conversation = conversation, .use_tools = !args.no_tools};
  auto result = stack.chat().Run(
      turn,
      [&](const chat::TurnEvent& e) {
        Json j = chat::ToJson(e);
        if (e.kind == chat::TurnEvent::Kind::kConversation) conversation = e.conversation;
        out.On(j.value("kind", "event"), j);
      },
      [](const chat::ToolInfo& tool, const std::string&, const Json& args, CancelToken&) { return AskOnTty(tool.name, args); },
      cancel);
  if (!result.ok()) {
    std::cerr << "llmdesk chat: " << result.status().message() << "\n";
    return kExitFailure;
  }
  out.On("done", {{"answer", result->transcript.answer}, {"conversation", result->conversation},
                  {"steps", result->transcript.steps}});
  return kExitOk;
}

int ChatCmd(Context& ctx, const ChatArgs& args) {
  StopSignals signals;  // before any thread exists
  auto cfg = ctx.LoadConfig(/*quiet_warnings=*/true);
  if (!cfg) return kExitBadConfig;
  Renderer out(args.json);
  std::optional<int64_t> conversation;
  auto prompts = [&](const std::function<int(const std::string&)>& turn) {
    if (!args.prompt.empty()) return turn(args.prompt);
    int code = kExitOk;
    for (std::string line; (isatty(STDIN_FILENO) ? std::cerr << "> " << std::flush : std::cerr) && std::getline(std::cin, line);)
      if (!line.empty()) code = turn(line);
    return code;
  };

  control::ControlClient client(cfg->gateway);
  if (client.Health().ok()) {
    int code = prompts([&](const std::string& p) { return TurnViaDaemon(client, args, p, conversation, out); });
    out.PrintTranscript();
    return code;
  }
  std::cerr << "(no llmdesk up/serve is running for this config: running the stack for this chat)\n";
  std::vector<std::string> to_prepare;  // the chat's model: -m, else the first one (as the chat service picks)
  if (!args.model.empty()) to_prepare.push_back(args.model);
  else if (!cfg->models.empty()) to_prepare.push_back(cfg->models.front().name);
  auto prepared = PrepareForStart(*cfg, to_prepare, signals);
  if (!prepared) return kExitFailure;
  auto started = stack::Stack::Start({.config = *prepared, .control_api = false});
  if (!started.ok()) {
    std::cerr << "llmdesk chat: " << started.status().message() << "\n";
    return kExitFailure;
  }
  auto& stack = **started;
  for (const auto& note : stack.notes()) std::cerr << note << "\n";
  CancelToken cancel;
  int code;
  {
    StopSignals::Watch watch(signals, [&](int) { cancel.Cancel(); });
    code = prompts([&](const std::string& p) { return TurnInProcess(stack, args, p, conversation, cancel, out); });
  }
  out.PrintTranscript();
  (void)stack.Stop(std::chrono::seconds(10));
  return code;
}

}  // namespace

void RegisterChatCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ChatArgs>();
  auto* chat = app.add_subcommand("chat", "Ask a model, with tools (MCP); a REPL without PROMPT");
  chat->add_option("PROMPT", args->prompt, "The question (default: read questions from stdin)");
  chat->add_option("-m,--model", args->model, "Model name from the config (default: the first)");
  chat->add_flag("--no-tools", args->no_tools, "Do not offer the MCP tools");
  chat->add_flag("--json", args->json, "Print the transcript as JSON (events, answer, usage)");
  chat->callback([&ctx, args] { ctx.exit_code = ChatCmd(ctx, *args); });
}

}  // namespace llmdesk::cli
