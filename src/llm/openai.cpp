// The OpenAI chat-completions wire format (see openai.h): building requests, merging streamed chunks,
// parsing whole responses, and the repairs llama.cpp's output sometimes needs.
#include "llm/openai.h"

#include <set>

#include "common/json_read.h"

namespace llmdesk::llm {
namespace {

using Json = nlohmann::json;

// A chunk naming tool-call index 1e9 must not make us allocate a billion slots.
constexpr size_t kMaxToolCalls = 128;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Arguments arrive as JSON text (OpenAI) or, from some servers, as an object.
std::string ArgumentsText(const Json& arguments) {
  if (arguments.is_string()) return arguments.get<std::string>();
  if (arguments.is_null()) return "";
  return Dump(arguments);
}

Usage UsageFrom(const Json& j) {
  Usage u;
  if (!j.is_object()) return u;
  u.prompt_tokens = JsonInt(j, "prompt_tokens");
  u.completion_tokens = JsonInt(j, "completion_tokens");
  u.total_tokens = JsonInt(j, "total_tokens");
  if (u.total_tokens == 0) u.total_tokens = u.prompt_tokens + u.completion_tokens;
  return u;
}

// Takes the `<tool_call>` convention's JSON {"name", "arguments"} apart; false when it is not one.
bool ParseLeakedCall(std::string_view text, ToolCall& call) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  auto name = j.find("name");
  if (name == j.end() || !name->is_string() || name->get<std::string>().empty()) return false;
  call.name = name->get<std::string>();
  auto args = j.find("arguments");
  call.arguments = args == j.end() ? "{}" : ArgumentsText(*args);
  return true;
}

}  // namespace

Usage& Usage::operator+=(const Usage& o) {
  prompt_tokens += o.prompt_tokens;
  completion_tokens += o.completion_tokens;
  total_tokens += o.total_tokens;
  return *this;
}

Json ToJson(const Message& m) {
  Json j = {{"role", m.role}};
  if (m.role == "assistant" && !m.tool_calls.empty()) {
    j["content"] = m.content.empty() ? Json(nullptr) : Json(m.content);
    Json calls = Json::array();
    for (const auto& c : m.tool_calls)
      calls.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    j["tool_calls"] = std::move(calls);
  } else {
    j["content"] = m.content;
  }
  if (m.role == "tool") j["tool_call_id"] = m.tool_call_id;
  return j;
}

Json ToJson(const ChatRequest& r) {
  Json body = {{"model", r.model}, {"stream", r.stream}, {"messages", Json::array()}};
  for (const auto& m : r.messages) body["messages"].push_back(ToJson(m));
  if (!r.tools.empty()) {
    Json tools = Json::array();
    for (const auto& t : r.tools)
      tools.push_back({{"type", "function"},
                       {"function", {{"name", t.name}, {"description", t.description}, {"parameters", t.parameters}}}});
    body["tools"] = std::move(tools);
    if (r.tools.size() > 1) body["parallel_tool_calls"] = true;
  }
  if (r.stream) body["stream_options"] = {{"include_usage", true}};
  if (r.max_tokens) body["max_tokens"] = *r.max_tokens;
  if (r.temperature) body["temperature"] = *r.temperature;
  if (r.extra.is_object())
    for (const auto& [k, v] : r.extra.items()) body[k] = v;
  return body;
}

ToolSpec FromMcpTool(const Json& t) {
  ToolSpec spec;
  if (!t.is_object()) return spec;
  spec.name = JsonString(t, "name");
  spec.description = t.contains("description") && t["description"].is_string() ? t["description"].get<std::string>()
                     : t.contains("title") && t["title"].is_string()             ? t["title"].get<std::string>()
                                                                                  : "";
  auto schema = t.find("inputSchema");
  spec.parameters = schema != t.end() && schema->is_object() ? *schema : Json{{"type", "object"}};
  return spec;
}

std::optional<std::string> ErrorMessage(const Json& body) {
  if (!body.is_object()) return std::nullopt;
  auto error = body.find("error");
  if (error != body.end()) {
    if (error->is_string()) return error->get<std::string>();
    if (error->is_object()) {
      auto message = error->find("message");
      if (message != error->end() && message->is_string()) return message->get<std::string>();
      return Dump(*error);
    }
  }
  return std::nullopt;
}

std::vector<ToolCall> RecoverLeakedToolCalls(std::string& content) {
  static constexpr std::string_view kOpen = "<tool_call>", kClose = "</tool_call>";
  std::vector<ToolCall> calls;
  std::string kept;
  size_t at = 0;
  while (at < content.size()) {
    size_t open = content.find(kOpen, at);
    if (open == std::string::npos) break;
    size_t close = content.find(kClose, open + kOpen.size());
    if (close == std::string::npos) break;
    ToolCall call;
    std::string_view inner(content.data() + open + kOpen.size(), close - open - kOpen.size());
    if (ParseLeakedCall(inner, call)) {
      kept.append(content, at, open - at);
      calls.push_back(std::move(call));
    } else {
      kept.append(content, at, close + kClose.size() - at);
    }
    at = close + kClose.size();
  }
  if (calls.empty()) return calls;
  kept.append(content, std::min(at, content.size()));
  // What is left around the blocks is usually only whitespace.
  const auto first = kept.find_first_not_of(" \t\r\n");
  content = first == std::string::npos ? "" : kept.substr(first, kept.find_last_not_of(" \t\r\n") - first + 1);
  return calls;
}

void AssignMissingIds(std::vector<ToolCall>& calls) {
  std::set<std::string> taken;
  for (const auto& c : calls)
    if (!c.id.empty()) taken.insert(c.id);
  size_t n = 0;
  for (auto& c : calls) {
    if (!c.id.empty()) continue;
    do c.id = "call_" + std::to_string(n++);
    while (taken.count(c.id));
    taken.insert(c.id);
  }
}

Result<Completion> ParseCompletion(const Json& body) {
  if (auto error = ErrorMessage(body)) return Status::Unavailable("the model server answered: " + *error);
  if (!body.is_object() || !body.contains("choices") || !body["choices"].is_array() || body["choices"].empty())
    return Status::InvalidArgument("the model server's answer has no choices: " + Dump(body).substr(0, 300));
  const Json& choice = body["choices"][0];
  const Json message = choice.is_object() && choice.contains("message") ? choice["message"] : Json();
  if (!message.is_object()) return Status::InvalidArgument("the model server's answer has no message");
  Completion out;
  out.message.role = "assistant";
  if (message.contains("content") && message["content"].is_string()) out.message.content = message["content"];
  if (message.contains("tool_calls") && message["tool_calls"].is_array()) {
    for (const auto& c : message["tool_calls"]) {
      if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) continue;
      ToolCall call;
      call.id = JsonString(c, "id");
      call.name = JsonString(c["function"], "name");
      call.arguments = c["function"].contains("arguments") ? ArgumentsText(c["function"]["arguments"]) : "";
      out.message.tool_calls.push_back(std::move(call));
    }
  }
  out.finish_reason = choice.contains("finish_reason") && choice["finish_reason"].is_string()
                          ? choice["finish_reason"].get<std::string>()
                          : "";
  out.usage = UsageFrom(body.value("usage", Json()));
  if (body.contains("timings")) out.timings = body["timings"];
  if (out.message.tool_calls.empty()) {
    out.message.tool_calls = RecoverLeakedToolCalls(out.message.content);
    if (!out.message.tool_calls.empty()) out.finish_reason = "tool_calls";
  }
  AssignMissingIds(out.message.tool_calls);
  return out;
}

Status StreamAccumulator::Feed(const Json& chunk, Delta* delta) {
  if (auto error = ErrorMessage(chunk)) return Status::Unavailable("the model server reported: " + *error);
  if (!chunk.is_object()) return Status::InvalidArgument("a streamed chunk is not a JSON object");
  if (chunk.contains("usage") && chunk["usage"].is_object()) usage_ = UsageFrom(chunk["usage"]);
  if (chunk.contains("timings")) timings_ = chunk["timings"];
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array()) return Status::Ok();  // e.g. the usage-only last chunk
  for (const auto& choice : *choices) {
    if (!choice.is_object()) return Status::InvalidArgument("a streamed choice is not a JSON object");
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string())
      finish_reason_ = choice["finish_reason"].get<std::string>();
    auto d = choice.find("delta");
    if (d == choice.end() || !d->is_object()) continue;
    if (d->contains("content") && (*d)["content"].is_string()) {
      const std::string& piece = (*d)["content"].get_ref<const std::string&>();
      content_ += piece;
      if (delta) delta->content += piece;
    }
    auto calls = d->find("tool_calls");
    if (calls == d->end() || calls->is_null()) continue;
    if (!calls->is_array()) return Status::InvalidArgument("delta.tool_calls is not an array");
    for (const auto& c : *calls) {
      if (!c.is_object()) return Status::InvalidArgument("a tool call delta is not a JSON object");
      size_t index = calls_.size();
      if (auto i = c.find("index"); i != c.end()) {
        const bool valid = i->is_number_unsigned() ? i->get<uint64_t>() < kMaxToolCalls
                           : i->is_number_integer() ? i->get<int64_t>() >= 0 && i->get<int64_t>() < int64_t{kMaxToolCalls}
                                                    : false;
        if (!valid) return Status::InvalidArgument("a tool call delta has a bad index: " + Dump(*i));
        index = static_cast<size_t>(i->get<int64_t>());
      }
      if (index >= kMaxToolCalls) return Status::InvalidArgument("more than 128 tool calls in one answer");
      if (calls_.size() <= index) calls_.resize(index + 1);
      ToolCall& call = calls_[index];
      Delta::ToolPiece piece{index, "", ""};
      if (c.contains("id") && c["id"].is_string() && call.id.empty()) call.id = c["id"];
      if (auto f = c.find("function"); f != c.end() && f->is_object()) {
        if (f->contains("name") && (*f)["name"].is_string()) {
          piece.name = (*f)["name"].get<std::string>();
          call.name += piece.name;
        }
        if (f->contains("arguments")) {
          piece.arguments = ArgumentsText((*f)["arguments"]);
          call.arguments += piece.arguments;
        }
      }
      if (delta) delta->tool_pieces.push_back(std::move(piece));
    }
  }
  return Status::Ok();
}

Completion StreamAccumulator::Finish() {
  Completion out;
  out.message.role = "assistant";
  out.message.content = content_;
  for (auto& c : calls_)
    if (!c.id.empty() || !c.name.empty() || !c.arguments.empty()) out.message.tool_calls.push_back(c);
  out.finish_reason = finish_reason_;
  out.usage = usage_;
  out.timings = timings_;
  if (out.message.tool_calls.empty()) {
    out.message.tool_calls = RecoverLeakedToolCalls(out.message.content);
    if (!out.message.tool_calls.empty()) out.finish_reason = "tool_calls";
  }
  AssignMissingIds(out.message.tool_calls);
  return out;
}

}  // namespace llmdesk::llm
