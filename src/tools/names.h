// tools/names.h — the names of the built-in tools, one constant each, and their list. Header-only and
// dependency-free, so the config loader can validate `tool_server.tools` without the tools themselves.
#pragma once

#include <string>
#include <vector>

namespace llmdesk::tools {

inline constexpr const char* kCalculatorTool = "calculator";
inline constexpr const char* kWeatherTool = "get_weather";
inline constexpr const char* kTimeTool = "get_time";
inline constexpr const char* kUnitsTool = "convert_units";

// In that order: the order of tools/list and of the default `tool_server.tools`.
inline const std::vector<std::string>& BuiltinToolNames() {
  static const std::vector<std::string> kNames = {kCalculatorTool, kWeatherTool, kTimeTool, kUnitsTool};
  return kNames;
}

}  // namespace llmdesk::tools
