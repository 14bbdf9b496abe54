// tools/builtin.h — internal to src/tools: the factories of the built-in tools (one file each) and
// the small helpers they share. The public contract is tools.h.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tools/tools.h"

namespace llmdesk::tools {

Tool MakeCalculatorTool();                          // calculator.cpp
Tool MakeWeatherTool(const Options& options);       // weather.cpp
Tool MakeTimeTool();                                // time.cpp
Tool MakeUnitsTool();                               // units.cpp

// A number the way a person writes it: whole numbers up to 2^53 without a fraction ("1024"), everything
// else with up to 15 significant digits ("1.4142135623731").
std::string FormatNumber(double value);

// A result with one text block and structuredContent — what every tool with an outputSchema returns.
ToolResult StructuredResult(std::string text, nlohmann::json structured);

}  // namespace llmdesk::tools
