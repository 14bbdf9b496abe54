// config/yaml_reader.h — internal: typed, diagnosing access to yaml-cpp nodes.
// Every getter reports a Diagnostic at the node's file:line:col instead of throwing, and
// returns nullopt so parsing continues and the user sees all problems in one run.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.h"

namespace llmdesk::config::detail {

// `text` for an error message: as is when short, else its start and its size ("abc... (3145728 bytes)"),
// so a hostile 3 MB value never floods the terminal.
std::string Shown(std::string_view text);

class YamlReader {
 public:
  YamlReader(std::string file, GetEnv env, std::vector<Diagnostic>& out)
      : file_(std::move(file)), env_(std::move(env)), out_(out) {}

  Location Loc(const YAML::Node& node) const;
  void Error(const YAML::Node& at, const std::string& key, std::string message);
  void Error(const Location& at, const std::string& key, std::string message);
  void Warn(const YAML::Node& at, const std::string& key, std::string message);

  // True when `node` is a map; flags unknown keys (with "did you mean") and, through IsMap, duplicates.
  bool CheckMap(const YAML::Node& node, const std::string& key, const std::vector<std::string>& allowed);
  // True when `node` is a map. Also reports every key given twice (yaml-cpp keeps both; lookups see only
  // the first), naming both places: "t.yaml:5:3: error: models.a: duplicate key; first given at t.yaml:2:3".
  bool IsMap(const YAML::Node& node, const std::string& key);

  std::optional<int> Int(const YAML::Node& node, const std::string& key, int min, int max);
  std::optional<double> Number(const YAML::Node& node, const std::string& key, double min, double max);
  std::optional<bool> Bool(const YAML::Node& node, const std::string& key);
  // A scalar (numbers and booleans are taken as their text). Nullopt for null, maps and lists.
  std::optional<std::string> String(const YAML::Node& node, const std::string& key);
  // `String` limited to `max_bytes` (for values with a natural bound: a host name, a repo id).
  std::optional<std::string> String(const YAML::Node& node, const std::string& key, size_t max_bytes);
  // `String` plus `~` and `${VAR}` / `${VAR:-default}` expansion.
  std::optional<std::string> Expanded(const YAML::Node& node, const std::string& key);
  // `Expanded` for a file path: at most PATH_MAX - 1 bytes, each component at most NAME_MAX bytes
  // (longer ones can never be opened: the system answers "File name too long").
  std::optional<std::string> ExpandedPath(const YAML::Node& node, const std::string& key);
  std::optional<std::vector<std::string>> ExpandedList(const YAML::Node& node, const std::string& key);
  std::optional<std::map<std::string, std::string>> ExpandedMap(const YAML::Node& node, const std::string& key);
  // One of `choices`, with "did you mean" on a near miss.
  std::optional<std::string> Choice(const YAML::Node& node, const std::string& key,
                                    const std::vector<std::string>& choices);

  const std::string& file() const { return file_; }

 private:
  std::optional<std::string> Expand(const std::string& text, const YAML::Node& at, const std::string& key);

  std::string file_;
  GetEnv env_;
  std::vector<Diagnostic>& out_;
};

}  // namespace llmdesk::config::detail
