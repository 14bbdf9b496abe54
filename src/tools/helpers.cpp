// tools/helpers.cpp — number formatting, "did you mean" matching and result building shared by the tools.
#include <algorithm>
#include <cctype>
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

namespace {
std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Levenshtein distance with one rolling row; inputs here are short (unit and zone names).
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
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
