// common/text.h — small text helpers shared by components (pure functions, no state).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llmdesk {

// Levenshtein distance (insert, delete, substitute = 1), for "did you mean ...?" hints.
size_t EditDistance(std::string_view a, std::string_view b);

// Percent-encodes everything but RFC 3986's unreserved characters (A-Z a-z 0-9 - _ . ~), so the result
// is safe as a URL path segment or query parameter value.
std::string PercentEncode(std::string_view text);
// The inverse: "%41b+c" -> "Ab c" when `plus_is_space` (query strings); invalid escapes stay as they are.
std::string PercentDecode(std::string_view text, bool plus_is_space = false);

}  // namespace llmdesk
