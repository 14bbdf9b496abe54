// tools/registry.cpp — Registry, ToolResult helpers, Tool::Describe and the built-in tool set.
#include <algorithm>
#include <map>

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

// One immutable tool set. Lookups by name go through `by_name`; `tools` keeps the listing order.
struct Registry::Snapshot {
  std::vector<std::shared_ptr<const Tool>> tools;
  std::map<std::string, size_t, std::less<>> by_name;

  // A copy without `provider`'s tools; an empty name (our own tools) copies everything.
  Snapshot Without(std::string_view provider) const {
    Snapshot next;
    for (const auto& tool : tools) {
      if (!provider.empty() && tool->provider == provider) continue;
      next.Append(tool);
    }
    return next;
  }
  void Append(std::shared_ptr<const Tool> tool) {
    by_name.emplace(tool->name, tools.size());
    tools.push_back(std::move(tool));
  }
  bool Has(std::string_view name) const { return by_name.find(name) != by_name.end(); }
};

Registry::Registry() : snapshot_(std::make_shared<const Snapshot>()) {}
Registry::Registry(Registry&& other) noexcept : snapshot_(other.Current()), generation_(other.generation()) {}
Registry& Registry::operator=(Registry&& other) noexcept {
  if (this != &other) {
    std::lock_guard writer(write_mu_);
    Publish(other.Current());
  }
  return *this;
}
Registry::~Registry() = default;

std::shared_ptr<const Registry::Snapshot> Registry::Current() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

void Registry::Publish(std::shared_ptr<const Snapshot> next) {
  {
    std::lock_guard lock(mu_);
    snapshot_ = std::move(next);
  }
  ++generation_;
}

namespace {
Status CheckRunnable(const Tool& tool) {
  if (tool.name.empty()) return Status::InvalidArgument("a tool needs a name");
  if (!tool.run) return Status::InvalidArgument("tool '" + tool.name + "' has no run function");
  return Status::Ok();
}
}  // namespace

Status Registry::Add(Tool tool) {
  if (Status s = CheckRunnable(tool); !s.ok()) return s;
  std::lock_guard writer(write_mu_);
  auto current = Current();
  if (current->Has(tool.name)) return Status::AlreadyExists("a tool named '" + tool.name + "' is already registered");
  tool.provider.clear();
  auto next = std::make_shared<Snapshot>(current->Without(""));
  next->Append(std::make_shared<const Tool>(std::move(tool)));
  Publish(std::move(next));
  return Status::Ok();
}

Status Registry::SetProviderTools(const std::string& provider, std::vector<Tool> tools) {
  if (provider.empty()) return Status::InvalidArgument("a tool provider needs a name");
  std::lock_guard writer(write_mu_);
  auto next = std::make_shared<Snapshot>(Current()->Without(provider));
  for (Tool& tool : tools) {
    if (Status s = CheckRunnable(tool); !s.ok()) return Status::InvalidArgument(provider + ": " + s.message());
    if (next->Has(tool.name)) {
      std::string prefixed = provider + "__" + tool.name;
      if (next->Has(prefixed)) {
        return Status::AlreadyExists(provider + ": tool '" + tool.name + "' clashes with '" + prefixed +
                                     "', which is already registered");
      }
      tool.name = std::move(prefixed);
    }
    tool.provider = provider;
    next->Append(std::make_shared<const Tool>(std::move(tool)));
  }
  Publish(std::move(next));
  return Status::Ok();
}

bool Registry::RemoveProvider(std::string_view provider) {
  if (provider.empty()) return false;
  std::lock_guard writer(write_mu_);
  auto current = Current();
  auto next = std::make_shared<Snapshot>(current->Without(provider));
  if (next->tools.size() == current->tools.size()) return false;
  Publish(std::move(next));
  return true;
}

std::shared_ptr<const Tool> Registry::Find(std::string_view name) const {
  auto snapshot = Current();
  auto it = snapshot->by_name.find(name);
  if (it == snapshot->by_name.end()) return nullptr;
  return snapshot->tools[it->second];
}

std::vector<std::shared_ptr<const Tool>> Registry::List() const { return Current()->tools; }

Result<ToolResult> Registry::Call(std::string_view name, const nlohmann::json& arguments,
                                  const CallContext& ctx) const {
  std::shared_ptr<const Tool> tool = Find(name);  // held: a provider refresh cannot free it mid-call
  if (!tool) return Status::NotFound("unknown tool '" + std::string(name) + "'");
  // MCP allows omitting `arguments`; treat null as "no arguments" so required-property errors read well.
  const nlohmann::json& args = arguments.is_null() ? nlohmann::json::object() : arguments;
  if (Status valid = ValidateAgainstSchema(tool->input_schema, args); !valid.ok())
    return ToolResult::Error("invalid arguments for " + tool->name + ": " + valid.message());
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
  if (on(kCalculatorTool)) (void)registry.Add(MakeCalculatorTool());
  if (on(kWeatherTool)) (void)registry.Add(MakeWeatherTool(options));
  if (on(kTimeTool)) (void)registry.Add(MakeTimeTool());
  if (on(kUnitsTool)) (void)registry.Add(MakeUnitsTool());
  return registry;
}

}  // namespace llmdesk::tools
