// tools/helpers.cpp — number formatting and result building shared by the tools.
#include <cmath>

#include <fmt/format.h>

#include "tools/builtin.h"

namespace llmdesk::tools {

std::string FormatNumber(double value) {
  if (value == 0) return "0";  // also turns -0 into 0
  // Whole numbers print without a fraction up to 2^53, where doubles stop holding every integer.
  if (std::isfinite(value) && std::floor(value) == value && std::fabs(value) <= 9007199254740992.0)
    return fmt::format("{:.0f}", value);
  return fmt::format("{:.15g}", value);
}

ToolResult StructuredResult(std::string text, nlohmann::json structured) {
  ToolResult r = ToolResult::Text(std::move(text));
  r.structured = std::move(structured);
  return r;
}

}  // namespace llmdesk::tools
