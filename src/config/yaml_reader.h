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

// Closest candidate within a small edit distance, for "did you mean" hints; empty if none.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

class YamlReader {
 public:
  YamlReader(std::string file, GetEnv env, std::vector<Diagnostic>& out)
      : file_(std::move(file)), env_(std::move(env)), out_(out) {}

  Location Loc(const YAML::Node& node) const;
  void Error(const YAML::Node& at, const std::string& key, std::string message);
  void Error(const Location& at, const std::string& key, std::string message);
  void Warn(const YAML::Node& at, const std::string& key, std::string message);

  // True when `node` is a map; flags unknown and duplicate keys (with "did you mean").
  bool CheckMap(const YAML::Node& node, const std::string& key, const std::vector<std::string>& allowed);
  bool IsMap(const YAML::Node& node, const std::string& key);

  std::optional<int> Int(const YAML::Node& node, const std::string& key, int min, int max);
  std::optional<double> Number(const YAML::Node& node, const std::string& key, double min, double max);
  std::optional<bool> Bool(const YAML::Node& node, const std::string& key);
  // A scalar (numbers and booleans are taken as their text). Nullopt for null, maps and lists.
  std::optional<std::string> String(const YAML::Node& node, const std::string& key);
  // `String` plus `~` and `${VAR}` / `${VAR:-default}` expansion.
  std::optional<std::string> Expanded(const YAML::Node& node, const std::string& key);
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
