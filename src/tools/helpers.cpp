// tools/helpers.cpp — number formatting, "did you mean" matching and result building shared by the tools.
#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "common/text.h"
#include "tools/builtin.h"

namespace llmdesk::tools {

std::string FormatNumber(double value) {
  if (value == 0) return "0";  // also turns -0 into 0
  // Whole numbers print without a fraction up to 2^53, where doubles stop holding every integer.
  if (std::isfinite(value) && std::floor(value) == value && std::fabs(value) <= 9007199254740992.0)
    return fmt::format("{:.0f}", value);
  return fmt::format("{:.15g}", value);
}

namespace {
std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

std::optional<std::string> ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.empty() || word.size() > 64) return std::nullopt;
  const std::string w = Lower(word);
  std::optional<std::string> best;
  // Allowed typos: one in a short word (else "ton" would suggest "in"), about one per 4 characters beyond.
  size_t best_distance = (w.size() <= 4 ? 1 : std::max<size_t>(2, w.size() / 4)) + 1;
  for (const auto& c : candidates) {
    if (c.size() > w.size() + best_distance + 8) continue;  // cheap skip of hopeless candidates
    size_t d = EditDistance(w, Lower(c));
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

ToolResult StructuredResult(std::string text, nlohmann::json structured) {
  ToolResult r = ToolResult::Text(std::move(text));
  r.structured = std::move(structured);
  return r;
}

}  // namespace llmdesk::tools
