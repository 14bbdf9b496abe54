// common/text.h — small text helpers shared by components (pure functions, no state).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmdesk {

// Optimal-string-alignment distance: insert, delete, substitute and swap two adjacent characters
// each cost 1 ("prot" -> "port" is 1), for "did you mean ...?" hints. O(|a|·|b|) time: callers bound
// the lengths (ClosestMatch does).
size_t EditDistance(std::string_view a, std::string_view b);

// The one "did you mean ...?" matcher of the product (config keys and choices, tool arguments).
// Returns the candidate closest to `word` by EditDistance, compared case-insensitively, when it is a
// plausible typo: distance <= max(1, word.size() / 3) — one typo in a short word ("ton" must not
// suggest "in"), about one per three characters beyond. Ties go to the earlier candidate. Words
// longer than 64 characters get no suggestion (bounded cost on hostile input; no name is that long).
std::optional<std::string> ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// Percent-encodes everything but RFC 3986's unreserved characters (A-Z a-z 0-9 - _ . ~), so the result
// is safe as a URL path segment or query parameter value.
std::string PercentEncode(std::string_view text);
// The inverse: "%41b+c" -> "Ab c" when `plus_is_space` (query strings); invalid escapes stay as they are.
std::string PercentDecode(std::string_view text, bool plus_is_space = false);

// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD, so it can
// go into JSON (nlohmann::json::dump throws on invalid UTF-8) — for text the system hands us as bytes:
// file paths, another process's command line.
std::string ValidUtf8(std::string_view text);

// `text` as an error message may quote it: ValidUtf8, and when longer than `max_bytes`, cut at a character
// boundary within them with "... (N bytes)" added — a 1 MB value or raw binary is never echoed whole. The
// one quoting rule of the product (config errors, the gateway's and the control API's 4xx answers).
std::string Excerpt(std::string_view text, size_t max_bytes);

}  // namespace llmdesk
