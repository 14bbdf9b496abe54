// `NAME+tools` (contract in gateway.h): the agent loop inside the gateway, answered whole or streamed as
// chat.completion chunks (tool activity in an `llmdesk` member OpenAI clients ignore).
#include <ctime>

#include "chat/agent.h"
#include "common/json_read.h"
#include "gateway/impl.h"
#include "llm/client.h"
#include "llm/props.h"

namespace llmdesk::gateway {
namespace {

using Json = nlohmann::json;

Json UsageJson(const llm::Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens}, {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.total_tokens ? u.total_tokens : u.prompt_tokens + u.completion_tokens}};
}

// Tool activity as the `llmdesk` member of a chunk (streamed) or of the answer (whole).
std::optional<Json> ToolActivity(const chat::Event& e) {
  if (e.kind == chat::Event::Kind::kToolCallStarted)
    return Json{{"event", "tool_call"}, {"call_id", e.call_id}, {"server", e.server}, {"tool", e.tool}, {"arguments", e.arguments}};
  if (e.kind == chat::Event::Kind::kToolResult)
    return Json{{"event", "tool_result"}, {"call_id", e.call_id}, {"tool", e.tool}, {"text", e.text},
                {"is_error", e.is_error}, {"duration_ms", e.duration.count()}};
  return std::nullopt;
}

// A warning as an HTTP header value: ASCII (the dash of llm/props.h's text becomes '-', other non-ASCII '?').
std::string HeaderText(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (text.compare(i, 3, "\xE2\x80\x94") == 0) {
      out += '-';
      i += 2;
    } else if ((c & 0xC0) != 0x80) {
      out += '?';  // one per character: continuation bytes are skipped
    }
  }
  return out;
}

chat::ApprovalAnswer DenyAsk(const chat::ToolInfo&, const std::string&, const Json&, CancelToken&) {
  return chat::ApprovalAnswer::kDeny;  // no person to ask behind an OpenAI client
}

}  // namespace

std::optional<std::string> Gateway::Impl::ToolsWarning(const Job& job) {
  const std::string& model = job.r.model->name;
  const std::string engine = job.up.base_url + " pid " + std::to_string(job.up.ticket.lease().status().pid);
  {
    std::lock_guard lock(checks_mu);
    auto it = checks.find(model);
    if (it != checks.end() && it->second.engine == engine) return it->second.warning;
  }
  auto props = llm::ReadServerProps(http, job.up.base_url, &job.cancel.token);
  if (!props.ok() && props.status().code() != Status::Code::kNotFound) return std::nullopt;  // ask again next time
  TemplateCheck check{engine, props.ok() ? llm::ToolTemplateWarning(*props, model) : std::nullopt};
  std::lock_guard lock(checks_mu);
  checks[model] = check;
  return check.warning;
}

net::Response Gateway::Impl::ToolsAnswer(std::shared_ptr<Job> job, Clock::time_point began) {
  const std::string model = job->r.model->name;
  auto parsed = MessagesFrom(job->r.json);
  if (!parsed.ok()) {
    metrics.Request(model, job->r.route, 400, Seconds(began));
    return ErrorResponse(400, parsed.status().message(), "invalid_messages");
  }
  auto history = std::make_shared<const std::vector<llm::Message>>(std::move(parsed).value());
  const std::string id = NewId("chatcmpl-llmdesk-");
  const int64_t created = static_cast<int64_t>(std::time(nullptr));
  const int steps = manager.config().chat.max_tool_steps;
  const std::optional<std::string> warning = ToolsWarning(*job);

  // Runs the loop; `on_event` sees every agent event (called one at a time).
  auto run = [this, job, history, steps](const std::function<void(const chat::Event&)>& on_event) {
    llm::ChatClient client(http, {.base_url = job->up.base_url, .api_key = job->up.api_key,
                                  .idle_timeout = options.upstream_idle_timeout});
    chat::Agent agent(client, tools);
    auto result = agent.Run(*history, OptionsFrom(job->r.json, job->r.model->name, steps), on_event, DenyAsk,
                            job->cancel.token);
    job->up.ticket = {};
    if (result.ok()) metrics.Tokens(job->r.model->name, result->usage.prompt_tokens, result->usage.completion_tokens);
    return result;
  };
  auto chunk = [job, id, created](const Json& delta, const Json& finish) {
    return Json{{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", job->r.requested},
                {"choices", Json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
  };

  if (!job->r.stream) {
    Json activity = Json::array();
    auto result = run([&](const chat::Event& e) {
      if (auto a = ToolActivity(e)) activity.push_back(std::move(*a));
    });
    if (!result.ok()) {
      metrics.Request(model, job->r.route, job->cancel.token.cancelled() ? 499 : 502, Seconds(began));
      return ErrorResponse(502, result.status().message(), "tool_loop_failed");
    }
    Json answer = {{"id", id}, {"object", "chat.completion"}, {"created", created}, {"model", job->r.requested},
                   {"choices", Json::array({{{"index", 0},
                                             {"message", {{"role", "assistant"}, {"content", result->answer}}},
                                             {"finish_reason", "stop"}}})},
                   {"usage", UsageJson(result->usage)},
                   {"llmdesk", {{"steps", result->steps}, {"tools", activity}}}};
    if (warning) answer["llmdesk"]["warning"] = *warning;
    metrics.Request(model, job->r.route, 200, Seconds(began));
    auto response = net::Response::Json(200, answer);
    if (warning) response.SetHeader("x-llmdesk-warning", HeaderText(*warning));
    return response;
  }

  auto response = net::Response::Stream("text/event-stream", [this, job, run, chunk, id, created, warning,
                                                               began](std::shared_ptr<net::Stream> stream) {
    CancelOnClose(*stream, job);
    auto send = [&](const Json& j) { stream->Write("data: " + Dump(j) + "\n\n"); };
    send(chunk({{"role", "assistant"}, {"content", ""}}, nullptr));
    if (warning) {  // before any token: the client learns at once why no tool may be called
      Json c = chunk(Json::object(), nullptr);
      c["llmdesk"] = {{"event", "warning"}, {"text", *warning}};
      send(c);
    }
    auto result = run([&](const chat::Event& e) {
      if (e.kind == chat::Event::Kind::kToken && !e.text.empty()) {
        send(chunk({{"content", e.text}}, nullptr));
      } else if (auto a = ToolActivity(e)) {
        Json c = chunk(Json::object(), nullptr);
        c["llmdesk"] = std::move(*a);
        send(c);
      }
    });
    if (result.ok()) {
      send(chunk(Json::object(), "stop"));
      Json usage = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created},
                    {"model", job->r.requested}, {"choices", Json::array()}, {"usage", UsageJson(result->usage)},
                    {"llmdesk", {{"steps", result->steps}}}};
      send(usage);
      stream->Write("data: [DONE]\n\n");
    } else if (!job->cancel.token.cancelled()) {
      stream->Write(ErrorEvent(result.status().message(), "server_error", "tool_loop_failed"));
    }
    stream->Close();
    metrics.Request(job->r.model->name, job->r.route, 200, Seconds(began));
  });
  response.SetHeader("Cache-Control", "no-cache");
  if (warning) response.SetHeader("x-llmdesk-warning", HeaderText(*warning));
  return response;
}

}  // namespace llmdesk::gateway
