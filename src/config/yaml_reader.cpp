#include "config/yaml_reader.h"

#include <climits>
#ifndef NAME_MAX  // mingw-w64 has PATH_MAX (MAX_PATH, 260) but no NAME_MAX: an NTFS name is at most 255 units
#define NAME_MAX 255
#endif

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "common/text.h"

namespace llmdesk::config::detail {
namespace {

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  auto best = ClosestMatch(word, candidates);
  return best ? "; did you mean '" + *best + "'?" : std::string();
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// A quoted scalar ("10500") has the non-specific tag "!"; a plain one has "?".
bool IsQuoted(const YAML::Node& node) { return node.Tag() == "!"; }

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Scalar:
      return (IsQuoted(node) ? "the quoted string \"" : "'") + Shown(node.Scalar()) + (IsQuoted(node) ? "\"" : "'");
    default: return "nothing";
  }
}

}  // namespace

std::string Shown(std::string_view text) { return Excerpt(text, 80); }

Location YamlReader::Loc(const YAML::Node& node) const {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return {file_, 0, 0};
  return {file_, mark.line + 1, mark.column + 1};
}

void YamlReader::Error(const Location& at, const std::string& key, std::string message) {
  out_.push_back({Diagnostic::Severity::kError, at, key, std::move(message)});
}
void YamlReader::Error(const YAML::Node& at, const std::string& key, std::string message) {
  Error(Loc(at), key, std::move(message));
}
void YamlReader::Warn(const YAML::Node& at, const std::string& key, std::string message) {
  out_.push_back({Diagnostic::Severity::kWarning, Loc(at), key, std::move(message)});
}

bool YamlReader::IsMap(const YAML::Node& node, const std::string& key) {
  if (!node.IsMap()) {
    Error(node, key, "expected a map of keys, got " + Describe(node));
    return false;
  }
  std::map<std::string, Location> first_seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) continue;  // CheckMap reports those
    const std::string& name = kv.first.Scalar();
    auto [it, fresh] = first_seen.emplace(name, Loc(kv.first));
    if (!fresh)
      Error(kv.first, key.empty() ? Shown(name) : key + "." + Shown(name),
            "duplicate key; first given at " + it->second.ToString() + "; each key may appear once");
  }
  return true;
}

bool YamlReader::CheckMap(const YAML::Node& node, const std::string& key, const std::vector<std::string>& allowed) {
  if (!IsMap(node, key)) return false;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      Error(kv.first, key, "keys must be plain names");
      continue;
    }
    const std::string& name = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      Error(kv.first, key.empty() ? Shown(name) : key + "." + Shown(name),
            "unknown key" + DidYouMean(name, allowed) + " (expected one of: " + Join(allowed) + ")");
  }
  return true;
}

std::optional<std::string> YamlReader::String(const YAML::Node& node, const std::string& key) {
  if (node.IsScalar()) return node.Scalar();
  Error(node, key, "expected a string, got " + Describe(node));
  return std::nullopt;
}

std::optional<std::string> YamlReader::String(const YAML::Node& node, const std::string& key, size_t max_bytes) {
  auto text = String(node, key);
  if (text && text->size() > max_bytes) {
    Error(node, key, "expected at most " + std::to_string(max_bytes) + " bytes, got " + std::to_string(text->size()));
    return std::nullopt;
  }
  return text;
}

std::optional<int> YamlReader::Int(const YAML::Node& node, const std::string& key, int min, int max) {
  const std::string range = " from " + std::to_string(min) + " to " + std::to_string(max);
  if (!node.IsScalar() || IsQuoted(node)) {
    std::string hint = node.IsScalar() ? "; write it without quotes" : "";
    Error(node, key, "expected an integer" + range + ", got " + Describe(node) + hint);
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    Error(node, key, "expected an integer" + range + ", got " + Describe(node));
    return std::nullopt;
  }
  if (value < min || value > max) {
    Error(node, key, "expected an integer" + range + ", got " + text);
    return std::nullopt;
  }
  return static_cast<int>(value);
}

std::optional<double> YamlReader::Number(const YAML::Node& node, const std::string& key, double min, double max) {
  double value = 0;
  bool parsed = node.IsScalar() && !IsQuoted(node) && YAML::convert<double>::decode(node, value);
  if (!parsed || !std::isfinite(value) || value < min || value > max) {
    Error(node, key, "expected a number from " + fmt::format("{}", min) + " to " + fmt::format("{}", max) + ", got " + Describe(node));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> YamlReader::Bool(const YAML::Node& node, const std::string& key) {
  bool value = false;
  if (node.IsScalar() && !IsQuoted(node) && YAML::convert<bool>::decode(node, value)) return value;
  Error(node, key, "expected true or false, got " + Describe(node));
  return std::nullopt;
}

std::optional<std::string> YamlReader::Choice(const YAML::Node& node, const std::string& key,
                                              const std::vector<std::string>& choices) {
  auto text = String(node, key);
  if (!text) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *text) != choices.end()) return text;
  Error(node, key, "expected one of " + Join(choices) + ", got '" + Shown(*text) + "'" + DidYouMean(*text, choices));
  return std::nullopt;
}

std::optional<std::string> YamlReader::Expand(const std::string& text, const YAML::Node& at, const std::string& key) {
  std::string out;
  size_t i = 0;
  if (text == "~" || text.rfind("~/", 0) == 0) {
    auto home = env_("HOME");
    if (!home) {
      Error(at, key, "cannot expand '~': HOME is not set; write an absolute path");
      return std::nullopt;
    }
    out = *home;
    i = 1;
  }
  while (i < text.size()) {
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    size_t close = text.find('}', i);
    if (close == std::string::npos) {
      Error(at, key, "unterminated '${' in '" + Shown(text) + "'; write ${NAME} or ${NAME:-default}");
      return std::nullopt;
    }
    std::string inner = text.substr(i + 2, close - i - 2);
    if (inner == "PORT" || inner == "MODEL") {  // llmdesk's own macros, filled in at spawn time
      out += text.substr(i, close - i + 1);
      i = close + 1;
      continue;
    }
    std::optional<std::string> fallback;
    if (size_t sep = inner.find(":-"); sep != std::string::npos) {
      fallback = inner.substr(sep + 2);
      inner.resize(sep);
    }
    auto value = env_(inner);
    if (value && !value->empty()) {
      out += *value;
    } else if (fallback) {
      out += *fallback;
    } else {
      Error(at, key, "environment variable " + Shown(inner) + " is not set; set it or write ${" + Shown(inner) + ":-default}");
      return std::nullopt;
    }
    i = close + 1;
  }
  return out;
}

std::optional<std::string> YamlReader::Expanded(const YAML::Node& node, const std::string& key) {
  auto text = String(node, key);
  return text ? Expand(*text, node, key) : std::nullopt;
}

std::optional<std::string> YamlReader::ExpandedPath(const YAML::Node& node, const std::string& key) {
  auto path = Expanded(node, key);
  if (!path) return std::nullopt;
  if (path->size() >= PATH_MAX) {
    Error(node, key, "path is " + std::to_string(path->size()) + " bytes long; the system's limit is " +
                         std::to_string(PATH_MAX - 1) + " (PATH_MAX): check for a pasted value or a runaway ${VAR}");
    return std::nullopt;
  }
  size_t start = 0;
  while (start <= path->size()) {
    size_t slash = std::min(path->find('/', start), path->size());
    if (slash - start > NAME_MAX) {
      Error(node, key, "path component '" + Shown(std::string_view(*path).substr(start, slash - start)) +
                           "' is longer than the system's limit of " + std::to_string(NAME_MAX) +
                           " bytes (NAME_MAX) for one file or directory name");
      return std::nullopt;
    }
    start = slash + 1;
  }
  return path;
}

std::optional<std::vector<std::string>> YamlReader::ExpandedList(const YAML::Node& node, const std::string& key) {
  if (!node.IsSequence()) {
    Error(node, key, "expected a list, e.g. [--ctx-size, \"8192\"], got " + Describe(node));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < node.size(); ++i) {
    auto item = Expanded(node[i], key + "[" + std::to_string(i) + "]");
    if (item) out.push_back(*item); else ok = false;
  }
  return ok ? std::optional(out) : std::nullopt;
}

std::optional<std::map<std::string, std::string>> YamlReader::ExpandedMap(const YAML::Node& node,
                                                                        const std::string& key) {
  if (node.IsNull()) return std::map<std::string, std::string>{};
  if (!IsMap(node, key)) return std::nullopt;  // duplicates are reported there; the first one wins below
  std::map<std::string, std::string> out;
  bool ok = true;
  for (const auto& kv : node) {
    const std::string name = kv.first.Scalar();
    auto value = Expanded(kv.second, key + "." + name);
    if (value) out.emplace(name, *value); else ok = false;
  }
  return ok ? std::optional(out) : std::nullopt;
}

}  // namespace llmdesk::config::detail
