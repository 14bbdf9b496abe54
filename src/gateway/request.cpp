// A /v1 request body parsed and checked (contract in request.h).
#include "gateway/request.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "common/json_read.h"
#include "common/text.h"
#include "gateway/impl.h"

namespace llmdesk::gateway {
namespace {

using Json = nlohmann::json;

// Nesting deeper than any OpenAI request needs is refused: the agent loop re-serialises parts of the body,
// and serialising recurses.
constexpr int kMaxDepth = 64;

// Why a member of the body has the wrong type, or "" (checked before anything is sent upstream).
std::string TypeProblem(const Json& body, const std::string& route) {
  auto has = [&](const char* key) { return body.contains(key) && !body[key].is_null(); };
  if (has("stream") && !body["stream"].is_boolean()) return "\"stream\" must be true or false";
  for (const char* key : {"max_tokens", "max_completion_tokens", "n"})
    if (has(key) && !(body[key].is_number_integer() && body[key].get<int64_t>() >= 0))
      return std::string("\"") + key + "\" must be a non-negative integer";
  if (has("llmdesk") && !body["llmdesk"].is_object()) return "\"llmdesk\" must be an object, e.g. {\"tools\": \"auto\"}";
  if (has("tools") && !body["tools"].is_array()) return "\"tools\" must be an array of tool definitions";
  if (route == "chat/completions") {
    if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
      return "\"messages\" must be a non-empty array of {\"role\", \"content\"}";
    for (const auto& m : body["messages"])
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
        return "every message must be an object with a string \"role\" (system, user, assistant or tool)";
  }
  return "";
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The text of a message's content: a string, null, or an array of parts of which the text ones count.
std::string ContentText(const Json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array())
    for (const auto& part : content)
      if (JsonString(part, "type") == "text" && part.contains("text") && part["text"].is_string())
        out += part["text"].get<std::string>();
  return out;
}

}  // namespace

std::string Shown(std::string_view text) { return Excerpt(text, 200); }

std::optional<Routed> ParseRequest(std::string_view body, const std::string& route, const config::Config& config,
                                   bool tool_host, net::Response& error) {
  Routed r;
  r.route = route;
  bool too_deep = false;
  r.json = Json::parse(body, [&too_deep](int depth, Json::parse_event_t, Json&) {
    too_deep = too_deep || depth > kMaxDepth;
    return true;
  }, /*allow_exceptions=*/false);
  if (too_deep) {
    error = ErrorResponse(400, "the request body nests deeper than " + std::to_string(kMaxDepth) + " levels", "invalid_json");
    return std::nullopt;
  }
  if (r.json.is_discarded() || !r.json.is_object()) {
    error = ErrorResponse(400, "the request body is not a JSON object; send e.g. {\"model\": \"default\", \"messages\": [...]}",
                          "invalid_json");
    return std::nullopt;
  }
  const auto model_it = r.json.find("model");
  if (model_it == r.json.end() || !model_it->is_string() || model_it->get_ref<const std::string&>().empty()) {
    error = ErrorResponse(400, "the request names no model: add \"model\": \"<name>\" (GET /v1/models lists them)",
                          "missing_model");
    return std::nullopt;
  }
  r.requested = model_it->get<std::string>();
  std::string name = r.requested;
  const bool suffix = EndsWith(name, kToolsSuffix);
  if (suffix) name.resize(name.size() - kToolsSuffix.size());
  const auto llmdesk = r.json.find("llmdesk");
  const bool asked = llmdesk != r.json.end() && llmdesk->is_object() && llmdesk->contains("tools") &&
                     (*llmdesk)["tools"] == "auto";
  const auto own_tools = r.json.find("tools");
  const bool client_tools = own_tools != r.json.end() && own_tools->is_array() && !own_tools->empty();
  r.model = config.FindModel(name);
  if (!r.model) {
    std::vector<std::string> ids;
    for (const auto& m : config.models) ids.push_back(m.name);
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
    error = ErrorResponse(404, "The model '" + Shown(r.requested) + "' does not exist; available: " + (list.empty() ? "none" : list),
                          "model_not_found", {{"available", ids}});
    return std::nullopt;
  }
  if (std::string problem = TypeProblem(r.json, route); !problem.empty()) {
    error = ErrorResponse(400, problem, "invalid_request");
    return std::nullopt;
  }
  r.tools = (suffix || asked) && !client_tools && route == "chat/completions";
  if (r.tools && !tool_host) {
    error = ErrorResponse(400, "tools are not available here (no tool host); use model '" + name + "'", "tools_unavailable");
    return std::nullopt;
  }
  const auto stream_it = r.json.find("stream");
  r.stream = stream_it != r.json.end() && stream_it->is_boolean() && stream_it->get<bool>();
  if (suffix || llmdesk != r.json.end()) {  // the upstream gets its own model name and no llmdesk member
    r.json["model"] = name;
    r.json.erase("llmdesk");
    r.body = Dump(r.json);
  } else {
    r.body = std::string(body);  // byte for byte
  }
  return r;
}

Result<std::vector<llm::Message>> MessagesFrom(const Json& body) {
  const auto it = body.find("messages");
  if (it == body.end() || !it->is_array() || it->empty())
    return Status::InvalidArgument("\"messages\" must be a non-empty array of {role, content}");
  std::vector<llm::Message> out;
  for (const auto& m : *it) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return Status::InvalidArgument("every message needs a string \"role\" (system, user, assistant or tool)");
    llm::Message msg;
    msg.role = m["role"].get<std::string>();
    if (m.contains("content")) msg.content = ContentText(m["content"]);
    if (m.contains("tool_call_id") && m["tool_call_id"].is_string()) msg.tool_call_id = m["tool_call_id"].get<std::string>();
    if (m.contains("tool_calls") && m["tool_calls"].is_array())
      for (const auto& c : m["tool_calls"]) {
        if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) continue;
        const Json& f = c["function"];
        llm::ToolCall call;
        if (c.contains("id") && c["id"].is_string()) call.id = c["id"].get<std::string>();
        if (f.contains("name") && f["name"].is_string()) call.name = f["name"].get<std::string>();
        if (f.contains("arguments")) call.arguments = f["arguments"].is_string() ? f["arguments"].get<std::string>() : Dump(f["arguments"]);
        msg.tool_calls.push_back(std::move(call));
      }
    out.push_back(std::move(msg));
  }
  return out;
}

chat::RunOptions OptionsFrom(const Json& body, const std::string& model, int max_tool_steps) {
  chat::RunOptions o;
  o.model = model;
  o.use_tools = true;
  o.max_tool_steps = max_tool_steps;
  // ParseRequest let any non-negative integer through; one beyond int (3000000000) must not wrap to a
  // negative budget (found by fuzz_gateway_request): it means "as many as the model gives", i.e. the cap.
  for (const char* key : {"max_completion_tokens", "max_tokens"})
    if (body.contains(key) && body[key].is_number_integer())
      o.max_tokens = static_cast<int>(std::clamp<int64_t>(body[key].get<int64_t>(), 0, std::numeric_limits<int>::max()));
  if (body.contains("temperature") && body["temperature"].is_number()) o.temperature = body["temperature"].get<double>();
  return o;
}

}  // namespace llmdesk::gateway
