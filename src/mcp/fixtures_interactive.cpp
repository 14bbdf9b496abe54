// Conformance fixtures that need the client: sampling, elicitation and roots. On a stateful session the
// question goes to the client live (SSE) and the call waits for the answer; on 2026-07-28 (stateless) it
// comes back as an `input_required` result and the client retries with `inputResponses` (+ the signed
// `requestState`), so the call itself never waits.
#include <fmt/format.h>

#include "mcp/server_impl.h"

namespace llmdesk::mcp::fixtures {
namespace {

using Reply = Extension::Reply;

struct Question {
  std::string key;
  std::string method;
  json params;
  std::string capability;  // client capability the method needs
};

Reply Ok(json result) { return {std::move(result), std::nullopt}; }
Reply Err(int code, std::string message, json data = nullptr) {
  return {nullptr, RpcError{code, std::move(message), std::move(data)}};
}
Reply TextResult(const std::string& text, bool is_error = false) {
  json r = {{"content", json::array({{{"type", "text"}, {"text", text}}})}};
  if (is_error) r["isError"] = true;
  return Ok(std::move(r));
}

bool HasCapability(const CallEnv& env, const std::string& capability) {
  return env.client_capabilities.is_object() && env.client_capabilities.contains(capability);
}

Reply MissingCapability(const std::string& capability) {
  return Err(rpc::kMissingClientCapability, "Missing required client capability: " + capability,
             {{"requiredCapabilities", {{capability, json::object()}}}});
}

// requestState integrity for the fixtures: payload + "." + keyed 64-bit FNV-1a. Enough to detect the
// suite's tampering; real tools would use an HMAC.
std::string Mac(const std::string& key, const std::string& payload) {
  uint64_t h = 1469598103934665603ull;
  for (char c : key + "|" + payload + "|" + key) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}
std::string Sign(const std::string& key, const std::string& payload) {
  return Base64(payload) + "." + Mac(key, payload);
}
std::optional<std::string> Verify(const std::string& key, const json& params) {
  auto it = params.find("requestState");
  if (it == params.end() || !it->is_string()) return std::nullopt;
  const std::string& state = it->get_ref<const std::string&>();
  for (size_t dot = state.find('.'); dot != std::string::npos; dot = std::string::npos) {
    std::string mac = state.substr(dot + 1);
    // The payloads are short ASCII tags, so they are re-derived and compared rather than decoded.
    for (const char* payload : {"request_state:1", "tampered:1", "multi:1", "multi:2", "multiple:1"}) {
      if (state.substr(0, dot) == Base64(payload) && mac == Mac(key, payload)) return std::string(payload);
    }
  }
  return std::nullopt;
}

// Either every answer (key -> the client's result) or the reply to send now.
struct Gathered {
  std::optional<json> answers;
  Reply reply;
};

Gathered Gather(const json& params, CallEnv& env, const std::vector<Question>& questions,
                const std::string& request_state = {}) {
  if (!env.stateless) {
    json answers = json::object();
    for (const auto& q : questions) {
      if (!HasCapability(env, q.capability)) {
        return {std::nullopt, TextResult("The client did not declare the '" + q.capability + "' capability", true)};
      }
      auto answer = env.ask(q.method, q.params);
      if (!answer.ok()) return {std::nullopt, TextResult(q.method + " failed: " + answer.status().message(), true)};
      answers[q.key] = *answer;
    }
    return {std::move(answers), {}};
  }
  json responses = json::object();
  if (auto it = params.find("inputResponses"); it != params.end()) {
    if (!it->is_object()) return {std::nullopt, Err(rpc::kInvalidParams, "Invalid params: inputResponses must be an object")};
    for (const auto& [key, value] : it->items()) {
      if (!value.is_object()) {
        return {std::nullopt, Err(rpc::kInvalidParams, "Invalid params: inputResponses['" + key + "'] must be an object")};
      }
    }
    responses = *it;
  }
  json requests = json::object();
  std::string missing_capability;
  bool any_missing = false;
  for (const auto& q : questions) {
    if (responses.contains(q.key)) continue;
    any_missing = true;
    if (!HasCapability(env, q.capability)) {
      missing_capability = q.capability;
      continue;  // only ask for what the client can answer
    }
    requests[q.key] = {{"method", q.method}, {"params", q.params}};
  }
  if (!any_missing) {
    json answers = json::object();
    for (const auto& q : questions) answers[q.key] = responses[q.key];
    return {std::move(answers), {}};
  }
  if (requests.empty()) return {std::nullopt, MissingCapability(missing_capability)};
  json result = {{"resultType", "input_required"}, {"inputRequests", std::move(requests)}};
  if (!request_state.empty()) result["requestState"] = request_state;
  return {std::nullopt, Ok(std::move(result))};
}

json Schema(json properties, json required) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}
Question Elicit(std::string key, std::string message, json schema) {
  return {std::move(key), "elicitation/create", {{"message", std::move(message)}, {"requestedSchema", std::move(schema)}},
          "elicitation"};
}
Question Sample(std::string key, const std::string& text, int max_tokens) {
  return {std::move(key), "sampling/createMessage",
          {{"messages", json::array({{{"role", "user"}, {"content", {{"type", "text"}, {"text", text}}}}})},
           {"maxTokens", max_tokens}},
          "sampling"};
}
Question Roots(std::string key) { return {std::move(key), "roots/list", json::object(), "roots"}; }

std::string ElicitSummary(const json& answer) {
  return "action=" + answer.value("action", std::string("?")) + ", content=" +
         answer.value("content", json::object()).dump();
}
std::string SampledText(const json& answer) {
  const json& content = answer.contains("content") ? answer["content"] : json::object();
  if (content.is_object()) return content.value("text", std::string());
  if (content.is_array() && !content.empty() && content[0].is_object()) return content[0].value("text", std::string());
  return {};
}
std::string ContentField(const json& answer, const char* field) {
  const json& content = answer.contains("content") ? answer["content"] : json::object();
  return content.is_object() && content.contains(field) && content[field].is_string() ? content[field].get<std::string>()
                                                                                        : std::string();
}

std::string StringArg(const json& params, const char* key) {
  auto args = params.find("arguments");
  if (args == params.end() || !args->is_object()) return {};
  auto it = args->find(key);
  return it != args->end() && it->is_string() ? it->get<std::string>() : std::string();
}

json SepDefaultsSchema() {
  return Schema({{"name", {{"type", "string"}, {"description", "Your name"}, {"default", "John Doe"}}},
                 {"age", {{"type", "integer"}, {"description", "Your age"}, {"default", 30}}},
                 {"score", {{"type", "number"}, {"description", "Your score"}, {"default", 95.5}}},
                 {"status", {{"type", "string"}, {"enum", {"active", "inactive", "pending"}}, {"default", "active"}}},
                 {"verified", {{"type", "boolean"}, {"description", "Verified?"}, {"default", true}}}},
                json::array());
}

json SepEnumsSchema() {
  auto titled = [](const char* a, const char* b, const char* c, const char* ta, const char* tb, const char* tc) {
    return json::array({{{"const", a}, {"title", ta}}, {{"const", b}, {"title", tb}}, {{"const", c}, {"title", tc}}});
  };
  return Schema(
      {{"untitledSingle", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}},
       {"titledSingle", {{"type", "string"}, {"oneOf", titled("value1", "value2", "value3", "First Option",
                                                              "Second Option", "Third Option")}}},
       {"legacyEnum", {{"type", "string"}, {"enum", {"opt1", "opt2", "opt3"}},
                       {"enumNames", {"Option One", "Option Two", "Option Three"}}}},
       {"untitledMulti", {{"type", "array"}, {"items", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}}}},
       {"titledMulti", {{"type", "array"}, {"items", {{"anyOf", titled("value1", "value2", "value3", "First Choice",
                                                                         "Second Choice", "Third Choice")}}}}}},
      json::array());
}

json Tool(const std::string& name, const std::string& description, json properties = json::object(),
          json required = json::array()) {
  json schema = {{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) schema["required"] = std::move(required);
  return {{"name", name}, {"description", description}, {"inputSchema", std::move(schema)}};
}

const json kNameSchema = Schema({{"name", {{"type", "string"}}}}, {"name"});

}  // namespace

json InteractiveTools() {
  return json::array({
      Tool("test_sampling", "Asks the client's LLM (sampling) and returns its answer (conformance fixture).",
           {{"prompt", {{"type", "string"}, {"description", "The prompt to send to the LLM"}}}}, {"prompt"}),
      Tool("test_elicitation", "Asks the user for input (elicitation) (conformance fixture).",
           {{"message", {{"type", "string"}, {"description", "The message to show the user"}}}}, {"message"}),
      Tool("test_elicitation_sep1034_defaults", "Elicitation with default values (conformance fixture)."),
      Tool("test_elicitation_sep1330_enums", "Elicitation with every enum schema variant (conformance fixture)."),
      Tool("test_missing_capability", "Needs the client's sampling capability (conformance fixture)."),
      Tool("test_streaming_elicitation", "Asks the user while running (conformance fixture)."),
      Tool("test_logging_tool", "Logs three messages (conformance fixture)."),
      Tool("test_input_required_result_elicitation", "Asks for a name, then greets (conformance fixture)."),
      Tool("test_input_required_result_sampling", "Asks the client's LLM a question (conformance fixture)."),
      Tool("test_input_required_result_list_roots", "Asks for the client's roots (conformance fixture)."),
      Tool("test_input_required_result_request_state", "Round-trips a requestState (conformance fixture)."),
      Tool("test_input_required_result_multiple_inputs", "Asks three questions at once (conformance fixture)."),
      Tool("test_input_required_result_multi_round", "Asks in two rounds (conformance fixture)."),
      Tool("test_input_required_result_tampered_state", "Rejects a tampered requestState (conformance fixture)."),
      Tool("test_input_required_result_capabilities", "Asks only what the client can answer (conformance fixture)."),
  });
}

bool IsInteractiveTool(std::string_view name) {
  static const std::set<std::string, std::less<>> kNames = [] {
    std::set<std::string, std::less<>> names;
    for (const auto& t : InteractiveTools()) names.insert(t["name"].get<std::string>());
    return names;
  }();
  return kNames.count(name) > 0;
}

Extension::Reply CallInteractiveTool(const std::string& name, const json& params, CallEnv& env,
                                     const std::string& key) {
  if (name == "test_logging_tool") {
    env.Log("info", "test_logging_tool: first message");
    env.Log("info", "test_logging_tool: second message");
    env.Log("info", "test_logging_tool: third message");
    return TextResult("Logged three messages");
  }
  if (name == "test_missing_capability") {
    if (!HasCapability(env, "sampling")) return MissingCapability("sampling");
    return TextResult("The client declared sampling");
  }
  if (name == "test_sampling") {
    auto g = Gather(params, env, {Sample("answer", StringArg(params, "prompt"), 100)});
    return g.answers ? TextResult("LLM response: " + SampledText((*g.answers)["answer"])) : g.reply;
  }
  if (name == "test_elicitation") {
    json schema = Schema({{"username", {{"type", "string"}, {"description", "User's response"}}},
                          {"email", {{"type", "string"}, {"description", "User's email address"}}}},
                         {"username", "email"});
    auto g = Gather(params, env, {Elicit("answer", StringArg(params, "message"), schema)});
    return g.answers ? TextResult("User response: " + ElicitSummary((*g.answers)["answer"])) : g.reply;
  }
  if (name == "test_elicitation_sep1034_defaults" || name == "test_elicitation_sep1330_enums") {
    bool defaults = name == "test_elicitation_sep1034_defaults";
    auto g = Gather(params, env,
                    {Elicit("answer", defaults ? "Please review your details" : "Please choose options",
                            defaults ? SepDefaultsSchema() : SepEnumsSchema())});
    return g.answers ? TextResult("Elicitation completed: " + ElicitSummary((*g.answers)["answer"])) : g.reply;
  }
  if (name == "test_streaming_elicitation" || name == "test_input_required_result_elicitation") {
    auto g = Gather(params, env, {Elicit("user_name", "What is your name?", kNameSchema)});
    return g.answers ? TextResult("Hello, " + ContentField((*g.answers)["user_name"], "name") + "!") : g.reply;
  }
  if (name == "test_input_required_result_sampling") {
    auto g = Gather(params, env, {Sample("capital_question", "What is the capital of France?", 100)});
    return g.answers ? TextResult("The model answered: " + SampledText((*g.answers)["capital_question"])) : g.reply;
  }
  if (name == "test_input_required_result_list_roots") {
    auto g = Gather(params, env, {Roots("client_roots")});
    if (!g.answers) return g.reply;
    std::string uris;
    for (const auto& root : (*g.answers)["client_roots"].value("roots", json::array())) {
      uris += (uris.empty() ? "" : ", ") + root.value("uri", std::string());
    }
    return TextResult("Client roots: " + uris);
  }
  if (name == "test_input_required_result_request_state" || name == "test_input_required_result_tampered_state") {
    std::string payload = name == "test_input_required_result_request_state" ? "request_state:1" : "tampered:1";
    bool answering = params.contains("inputResponses");
    if (answering && Verify(key, params) != payload) {
      return Err(rpc::kInvalidParams, "Invalid params: requestState failed its integrity check");
    }
    json schema = Schema({{"ok", {{"type", "boolean"}}}}, {"ok"});
    auto g = Gather(params, env, {Elicit("confirm", "Please confirm", schema)}, Sign(key, payload));
    return g.answers ? TextResult("state-ok: confirmed " + (*g.answers)["confirm"].value("content", json::object()).dump())
                     : g.reply;
  }
  if (name == "test_input_required_result_multiple_inputs") {
    if (params.contains("inputResponses") && Verify(key, params) != "multiple:1") {
      return Err(rpc::kInvalidParams, "Invalid params: requestState failed its integrity check");
    }
    auto g = Gather(params, env,
                    {Elicit("user_name", "What is your name?", kNameSchema), Sample("greeting", "Generate a greeting", 50),
                     Roots("client_roots")},
                    Sign(key, "multiple:1"));
    if (!g.answers) return g.reply;
    return TextResult("Received all inputs: name=" + ContentField((*g.answers)["user_name"], "name") +
                      ", greeting=" + SampledText((*g.answers)["greeting"]));
  }
  if (name == "test_input_required_result_multi_round") {
    auto stage = Verify(key, params);
    if (params.contains("requestState") && !stage) {
      return Err(rpc::kInvalidParams, "Invalid params: requestState failed its integrity check");
    }
    if (stage == "multi:2") {
      json color_schema = Schema({{"color", {{"type", "string"}}}}, {"color"});
      auto g = Gather(params, env, {Elicit("step2", "Step 2: What is your favorite color?", color_schema)},
                      Sign(key, "multi:2"));
      return g.answers ? TextResult("Favorite color: " + ContentField((*g.answers)["step2"], "color")) : g.reply;
    }
    auto g = Gather(params, env, {Elicit("step1", "Step 1: What is your name?", kNameSchema)}, Sign(key, "multi:1"));
    if (!g.answers) return g.reply;
    if (!env.stateless) return TextResult("Hello, " + ContentField((*g.answers)["step1"], "name"));
    json next = params;  // round 2: a new question and a new state
    next.erase("inputResponses");
    next["requestState"] = Sign(key, "multi:2");
    json color_schema = Schema({{"color", {{"type", "string"}}}}, {"color"});
    return Gather(next, env, {Elicit("step2", "Step 2: What is your favorite color?", color_schema)},
                  Sign(key, "multi:2"))
        .reply;
  }
  if (name == "test_input_required_result_capabilities") {
    auto g = Gather(params, env,
                    {Sample("sampled", "Say hello", 20), Elicit("confirm", "Continue?", Schema({{"ok", {{"type", "boolean"}}}}, {"ok"})),
                     Roots("roots")});
    return g.answers ? TextResult("Received every answer") : g.reply;
  }
  return Err(rpc::kInvalidParams, "Unknown tool: '" + name + "'", {{"tool", name}});
}

Extension::Reply GetInputPrompt(const json& params, CallEnv& env) {
  json schema = Schema({{"context", {{"type", "string"}}}}, {"context"});
  auto g = Gather(params, env, {Elicit("user_context", "What context should the prompt use?", schema)});
  if (!g.answers) return g.reply;
  std::string context = ContentField((*g.answers)["user_context"], "context");
  return Ok({{"description", "A prompt built from the client's context"},
             {"messages", json::array({{{"role", "user"},
                                        {"content", {{"type", "text"}, {"text", "Use this context: " + context}}}}})}});
}

}  // namespace llmdesk::mcp::fixtures
