// The conformance suite's fixture set: the tools, resources, prompts and completions that
// @modelcontextprotocol/conformance calls by name (texts as its scenario descriptions give them).
// Enabled only by --conformance-fixtures; never part of the default tool list.
#include <sys/random.h>

#include <thread>

#include "mcp/server_impl.h"

namespace llmdesk::mcp {
namespace {

using Reply = Extension::Reply;

// 1x1 red pixel PNG.
constexpr const char* kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

// A valid 8 kHz mono 8-bit PCM WAV of 8 silent samples, built rather than pasted.
std::string TinyWavBase64() {
  std::string wav;
  auto u32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) wav.push_back(static_cast<char>((v >> (8 * i)) & 0xff)); };
  auto u16 = [&](uint16_t v) { for (int i = 0; i < 2; ++i) wav.push_back(static_cast<char>((v >> (8 * i)) & 0xff)); };
  const uint32_t samples = 8;
  wav += "RIFF";
  u32(36 + samples);
  wav += "WAVEfmt ";
  u32(16), u16(1), u16(1), u32(8000), u32(8000), u16(1), u16(8);
  wav += "data";
  u32(samples);
  wav.append(samples, static_cast<char>(0x80));
  return fixtures::Base64(wav);
}

// JSON Schema 2020-12 vocabulary that must survive tools/list untouched (SEP-1613, SEP-2106).
constexpr const char* kSchema2020 = R"({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "$defs": {"address": {"$anchor": "addressDef", "type": "object",
                        "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
  "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"},
                 "contactMethod": {"type": "string", "enum": ["phone", "email"]},
                 "phone": {"type": "string"}, "email": {"type": "string"}},
  "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
  "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
  "then": {"required": ["phone"]},
  "else": {"required": ["email"]},
  "additionalProperties": false
})";

json Text(const std::string& text) { return {{"type", "text"}, {"text", text}}; }
json Image() { return {{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}}; }
json EmbeddedText(const std::string& uri, const std::string& mime, const std::string& text) {
  return {{"type", "resource"}, {"resource", {{"uri", uri}, {"mimeType", mime}, {"text", text}}}};
}
json Tool(const std::string& name, const std::string& description, json properties = json::object(),
          json required = json::array()) {
  json schema = {{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) schema["required"] = std::move(required);
  return {{"name", name}, {"description", description}, {"inputSchema", std::move(schema)}};
}
Reply Ok(json result) { return {std::move(result), std::nullopt}; }
Reply Err(int code, std::string message, json data = nullptr) {
  return {nullptr, RpcError{code, std::move(message), std::move(data)}};
}
json Contents(json blocks) { return {{"content", std::move(blocks)}}; }

std::string StringArg(const json& params, const char* key) {
  auto args = params.find("arguments");
  if (args == params.end() || !args->is_object()) return {};
  auto it = args->find(key);
  return it != args->end() && it->is_string() ? it->get<std::string>() : std::string();
}

class ConformanceFixtures : public Extension {
 public:
  ConformanceFixtures() : wav_(TinyWavBase64()) {
    unsigned char key[16] = {};
    size_t got = 0;
    while (got < sizeof(key)) {
      ssize_t n = getrandom(key + got, sizeof(key) - got, 0);
      if (n > 0) got += static_cast<size_t>(n);
    }
    state_key_.assign(reinterpret_cast<char*>(key), sizeof(key));
  }

  json Tools() const override {
    json tools = json::array({
        Tool("test_simple_text", "Returns a simple text response (conformance fixture)."),
        Tool("test_image_content", "Returns a 1x1 PNG image (conformance fixture)."),
        Tool("test_audio_content", "Returns a tiny WAV clip (conformance fixture)."),
        Tool("test_embedded_resource", "Returns an embedded text resource (conformance fixture)."),
        Tool("test_multiple_content_types", "Returns text, image and resource content (conformance fixture)."),
        Tool("test_tool_with_logging", "Sends three log notifications while running (conformance fixture)."),
        Tool("test_tool_with_progress", "Reports progress 0, 50, 100 of 100 (conformance fixture)."),
        Tool("test_error_handling", "Always fails with isError (conformance fixture)."),
        {{"name", "test_custom_header"},
         {"description", "Echoes a region that is mirrored into the Mcp-Param-Region header (conformance fixture)."},
         {"inputSchema",
          {{"type", "object"},
           {"properties", {{"region", {{"type", "string"}, {"description", "A region name"}, {"x-mcp-header", "Region"}}}}},
           {"required", {"region"}}}}},
        {{"name", "json_schema_2020_12_tool"},
         {"description", "Tool with JSON Schema 2020-12 features"},
         {"inputSchema", json::parse(kSchema2020)}},
    });
    for (auto& t : fixtures::InteractiveTools()) tools.push_back(std::move(t));
    return tools;
  }

  bool HasTool(std::string_view name) const override {
    static const std::set<std::string, std::less<>> kStatic = {
        "test_simple_text",       "test_image_content",     "test_audio_content",
        "test_embedded_resource", "test_multiple_content_types", "test_tool_with_logging",
        "test_tool_with_progress", "test_error_handling",   "json_schema_2020_12_tool",
        "test_custom_header"};
    return kStatic.count(name) > 0 || fixtures::IsInteractiveTool(name);
  }

  bool ToolStreams(std::string_view name) const override {
    return name == "test_tool_with_logging" || name == "test_tool_with_progress" || name == "test_logging_tool" ||
           name == "test_sampling" || name == "test_elicitation" || name == "test_elicitation_sep1034_defaults" ||
           name == "test_elicitation_sep1330_enums";
  }

  Reply CallTool(const std::string& name, const json& params, CallEnv& env) const override {
    if (name == "test_simple_text") return Ok(Contents({Text("This is a simple text response for testing.")}));
    if (name == "test_image_content") return Ok(Contents({Image()}));
    if (name == "test_audio_content") {
      return Ok(Contents({{{"type", "audio"}, {"data", wav_}, {"mimeType", "audio/wav"}}}));
    }
    if (name == "test_embedded_resource") {
      return Ok(Contents({EmbeddedText("test://embedded-resource", "text/plain", "This is an embedded resource content.")}));
    }
    if (name == "test_multiple_content_types") {
      return Ok(Contents({Text("Multiple content types test:"), Image(),
                          EmbeddedText("test://mixed-content-resource", "application/json",
                                       R"({"test":"data","value":123})")}));
    }
    if (name == "test_error_handling") {
      json r = Contents({Text("This tool intentionally returns an error for testing")});
      r["isError"] = true;
      return Ok(std::move(r));
    }
    if (name == "test_tool_with_logging") {
      // The pauses are the fixture's specified behaviour: clients must see notifications arrive over time.
      env.Log("info", "Tool execution started");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      env.Log("info", "Tool processing data");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      env.Log("info", "Tool execution completed");
      return Ok(Contents({Text("Tool with logging executed successfully")}));
    }
    if (name == "test_tool_with_progress") {
      for (int step = 0; step <= 2; ++step) {
        if (step > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        env.Progress(step * 50.0, 100.0);
      }
      return Ok(Contents({Text("Tool with progress executed successfully")}));
    }
    if (name == "test_custom_header") return Ok(Contents({Text("Region: " + StringArg(params, "region"))}));
    if (name == "json_schema_2020_12_tool") {
      return Ok(Contents({Text("Received: " + params.value("arguments", json::object()).dump())}));
    }
    return fixtures::CallInteractiveTool(name, params, env, state_key_);
  }

  json Resources() const override {
    return json::array({
        {{"uri", "test://static-text"}, {"name", "static-text"}, {"title", "Static text"},
         {"description", "A static text resource (conformance fixture)"}, {"mimeType", "text/plain"}},
        {{"uri", "test://static-binary"}, {"name", "static-binary"}, {"title", "Static binary"},
         {"description", "A static PNG resource (conformance fixture)"}, {"mimeType", "image/png"}},
        {{"uri", "test://watched-resource"}, {"name", "watched-resource"},
         {"description", "A resource clients may subscribe to (conformance fixture)"}, {"mimeType", "text/plain"}},
    });
  }

  json ResourceTemplates() const override {
    return json::array({{{"uriTemplate", "test://template/{id}/data"},
                         {"name", "template-data"},
                         {"description", "Data for an id (conformance fixture)"},
                         {"mimeType", "application/json"}}});
  }

  Reply ReadResource(const json& params, CallEnv&) const override {
    auto uri_it = params.find("uri");
    if (uri_it == params.end() || !uri_it->is_string()) return Err(rpc::kInvalidParams, "Invalid params: needs a string \"uri\"");
    const std::string uri = uri_it->get<std::string>();
    auto one = [&](json content) { return Ok({{"contents", json::array({std::move(content)})}}); };
    if (uri == "test://static-text") {
      return one({{"uri", uri}, {"mimeType", "text/plain"}, {"text", "This is the content of the static text resource."}});
    }
    if (uri == "test://static-binary") return one({{"uri", uri}, {"mimeType", "image/png"}, {"blob", kPng}});
    if (uri == "test://watched-resource") return one({{"uri", uri}, {"mimeType", "text/plain"}, {"text", "watched"}});
    const std::string prefix = "test://template/", suffix = "/data";
    if (uri.size() > prefix.size() + suffix.size() && uri.rfind(prefix, 0) == 0 &&
        uri.compare(uri.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string id = uri.substr(prefix.size(), uri.size() - prefix.size() - suffix.size());
      if (id.find('/') == std::string::npos) {
        json data = {{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
        return one({{"uri", uri}, {"mimeType", "application/json"}, {"text", data.dump()}});
      }
    }
    return Err(rpc::kInvalidParams, "Resource not found: '" + uri + "'", {{"uri", uri}});
  }

  json Prompts() const override {
    auto arg = [](const char* name, const char* description) {
      return json{{"name", name}, {"description", description}, {"required", true}};
    };
    return json::array({
        {{"name", "test_simple_prompt"}, {"description", "A simple prompt without arguments (conformance fixture)"}},
        {{"name", "test_prompt_with_arguments"},
         {"description", "A prompt with two arguments (conformance fixture)"},
         {"arguments", json::array({arg("arg1", "First test argument"), arg("arg2", "Second test argument")})}},
        {{"name", "test_prompt_with_embedded_resource"},
         {"description", "A prompt embedding a resource (conformance fixture)"},
         {"arguments", json::array({arg("resourceUri", "URI of the resource to embed")})}},
        {{"name", "test_prompt_with_image"}, {"description", "A prompt with an image (conformance fixture)"}},
        {{"name", fixtures::kInputPrompt},
         {"description", "A prompt that first asks the client for context (conformance fixture)"}},
    });
  }

  Reply GetPrompt(const json& params, CallEnv& env) const override {
    auto name_it = params.find("name");
    if (name_it == params.end() || !name_it->is_string()) return Err(rpc::kInvalidParams, "Invalid params: needs a string \"name\"");
    const std::string name = name_it->get<std::string>();
    auto user = [](json content) { return json{{"role", "user"}, {"content", std::move(content)}}; };
    auto messages = [](json list) { return Ok({{"messages", std::move(list)}}); };
    if (name == "test_simple_prompt") return messages({user(Text("This is a simple prompt for testing."))});
    if (name == "test_prompt_with_arguments") {
      std::string a1 = StringArg(params, "arg1"), a2 = StringArg(params, "arg2");
      if (a1.empty() || a2.empty()) return Err(rpc::kInvalidParams, "Invalid params: arguments arg1 and arg2 are required");
      return messages({user(Text("Prompt with arguments: arg1='" + a1 + "', arg2='" + a2 + "'"))});
    }
    if (name == "test_prompt_with_embedded_resource") {
      std::string uri = StringArg(params, "resourceUri");
      if (uri.empty()) return Err(rpc::kInvalidParams, "Invalid params: argument resourceUri is required");
      return messages({user(EmbeddedText(uri, "text/plain", "Embedded resource content for testing.")),
                       user(Text("Please process the embedded resource above."))});
    }
    if (name == "test_prompt_with_image") return messages({user(Image()), user(Text("Please analyze the image above."))});
    if (name == fixtures::kInputPrompt) return fixtures::GetInputPrompt(params, env);
    return Err(rpc::kInvalidParams, "Unknown prompt: '" + name + "'", {{"name", name}});
  }

  Reply Complete(const json& params) const override {
    static const std::vector<std::string> kWords = {"paris", "park", "party", "test", "testValue"};
    std::string prefix;
    if (auto arg = params.find("argument"); arg != params.end() && arg->is_object()) {
      prefix = arg->value("value", std::string());
    }
    json values = json::array();
    for (const auto& w : kWords) {
      if (w.rfind(prefix, 0) == 0) values.push_back(w);
    }
    return Ok({{"completion", {{"values", values}, {"total", values.size()}, {"hasMore", false}}}});
  }

 private:
  std::string wav_;
  std::string state_key_;
};

}  // namespace

std::string fixtures::Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (rest == 2) v |= uint8_t(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::unique_ptr<Extension> MakeConformanceFixtures() { return std::make_unique<ConformanceFixtures>(); }

}  // namespace llmdesk::mcp
