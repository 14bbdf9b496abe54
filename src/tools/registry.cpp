// tools/registry.cpp — Registry, ToolResult helpers, Tool::Describe and the built-in tool set.
#include <algorithm>

#include "tools/builtin.h"

namespace llmdesk::tools {

ToolResult ToolResult::Text(std::string text) {
  ToolResult r;
  r.content.push_back({{"type", "text"}, {"text", std::move(text)}});
  return r;
}

ToolResult ToolResult::Error(std::string message) {
  ToolResult r = Text(std::move(message));
  r.is_error = true;
  return r;
}

nlohmann::json Tool::Describe() const {
  nlohmann::json d = {{"name", name}, {"inputSchema", input_schema}};
  if (!title.empty()) d["title"] = title;
  if (!description.empty()) d["description"] = description;
  if (output_schema) d["outputSchema"] = *output_schema;
  if (!annotations.empty()) d["annotations"] = annotations;
  return d;
}

Status Registry::Add(Tool tool) {
  if (tool.name.empty()) return Status::InvalidArgument("a tool needs a name");
  if (!tool.run) return Status::InvalidArgument("tool '" + tool.name + "' has no run function");
  if (Find(tool.name)) return Status::AlreadyExists("a tool named '" + tool.name + "' is already registered");
  tools_.push_back(std::make_unique<Tool>(std::move(tool)));
  return Status::Ok();
}

const Tool* Registry::Find(std::string_view name) const {
  for (const auto& t : tools_)  // a handful of tools: a linear scan beats a map
    if (t->name == name) return t.get();
  return nullptr;
}

std::vector<const Tool*> Registry::List() const {
  std::vector<const Tool*> out;
  out.reserve(tools_.size());
  for (const auto& t : tools_) out.push_back(t.get());
  return out;
}

Result<ToolResult> Registry::Call(std::string_view name, const nlohmann::json& arguments,
                                  const CallContext& ctx) const {
  const Tool* tool = Find(name);
  if (!tool) return Status::NotFound("unknown tool '" + std::string(name) + "'");
  // MCP allows omitting `arguments`; treat null as "no arguments" so required-property errors read well.
  const nlohmann::json& args = arguments.is_null() ? nlohmann::json::object() : arguments;
  if (std::string error = ValidateAgainstSchema(tool->input_schema, args); !error.empty())
    return ToolResult::Error("invalid arguments for " + tool->name + ": " + error);
  try {
    return tool->run(args, ctx);
  } catch (const std::exception& e) {  // a tool bug must not take the server down
    return ToolResult::Error("tool " + tool->name + " failed: " + e.what());
  }
}

Registry BuiltinTools(const std::vector<std::string>& enabled, const Options& options) {
  auto on = [&enabled](std::string_view name) {
    return std::find(enabled.begin(), enabled.end(), name) != enabled.end();
  };
  Registry registry;
  if (on("calculator")) (void)registry.Add(MakeCalculatorTool());
  if (on("get_weather")) (void)registry.Add(MakeWeatherTool(options));
  if (on("get_time")) (void)registry.Add(MakeTimeTool());
  if (on("convert_units")) (void)registry.Add(MakeUnitsTool());
  return registry;
}

}  // namespace llmdesk::tools
