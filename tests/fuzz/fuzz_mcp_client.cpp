// libFuzzer target: mcp::Client's handling of what an MCP server sends back. The input is a script of
// server messages, one JSON text per line, played by a scripted transport: each client request gets the
// next line as its reply (with the request's id put in when the line is an object without one, so replies
// match), a line starting with '!' is delivered as a notification, a line starting with '?' as a request
// from the server. The client initializes, lists tools (following cursors), calls one and pings; every
// tool entry and result then goes through what the chat host does with them (llm::FromMcpTool,
// mcp::ResultText). Any outcome but a crash, a hang or a sanitizer report is fine.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "llm/openai.h"
#include "mcp/client.h"

namespace {

using nlohmann::json;
using llmdesk::Result;
using llmdesk::Status;
namespace mcp = llmdesk::mcp;

class ScriptedTransport : public mcp::Transport {
 public:
  ScriptedTransport(std::deque<std::string> lines, mcp::Client::NotificationFn on_notification)
      : lines_(std::move(lines)), on_notification_(std::move(on_notification)) {}

  Result<json> Request(const json& request, std::chrono::steady_clock::time_point, const llmdesk::CancelToken*) override {
    while (!lines_.empty()) {
      std::string line = std::move(lines_.front());
      lines_.pop_front();
      const char kind = line.empty() ? ' ' : line[0];
      json message = json::parse(kind == '!' || kind == '?' ? line.substr(1) : line, nullptr, false);
      if (message.is_discarded()) continue;  // a line that is not JSON: servers' stray output
      if (kind == '!') {
        on_notification_(message);
        continue;
      }
      if (kind == '?') {
        if (message.is_object()) (void)mcp::AnswerServerRequest(message, Elicit);
        continue;
      }
      if (!message.is_object()) continue;  // transports drop non-objects before the client sees them
      if (!message.contains("id")) message["id"] = request.contains("id") ? request["id"] : json();
      return message;
    }
    return Status::Unavailable("script ended");
  }
  Status Notify(const json&) override { return Status::Ok(); }
  void SetSession(std::string, std::string) override {}
  std::string ReceivedSession() const override { return ""; }
  bool SessionLost(const Status&) const override { return false; }
  std::string Describe() const override { return "fuzz script"; }

 private:
  static Result<json> Elicit(const std::string& method, const json& params) {
    if (method == "elicitation/create") return mcp::AcceptElicitationWithDefaults(params);
    return Status::NotFound("no " + method);
  }
  std::deque<std::string> lines_;
  mcp::Client::NotificationFn on_notification_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::deque<std::string> lines;
  for (size_t start = 0; start <= text.size() && lines.size() < 256;) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  mcp::ServerSpec spec;
  spec.name = "fuzz";
  spec.command = {"unused"};
  auto client = mcp::Client::ConnectOver(spec, [&](mcp::Client::NotificationFn on_notification)
                                             -> Result<std::unique_ptr<mcp::Transport>> {
    return std::unique_ptr<mcp::Transport>(new ScriptedTransport(std::move(lines), std::move(on_notification)));
  });
  if (!client.ok()) return 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  if (auto tools = (*client)->ListTools(); tools.ok())
    for (const auto& t : *tools) (void)llmdesk::llm::FromMcpTool(t);
  if (auto result = (*client)->CallTool("calculator", {{"expression", "2+2"}}, deadline); result.ok())
    (void)mcp::ResultText(*result);
  (void)(*client)->Ping();
  return 0;
}
