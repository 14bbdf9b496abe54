// control/reload_report.cpp — a config reload's report as JSON and as lines for a person (see control.h).
#include "control/control.h"

namespace llmdesk::control {
namespace {

using Json = nlohmann::json;

std::vector<std::string> Strings(const Json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

Json ToJson(const ReloadReport& r) {
  return {{"file", r.file},
          {"added", r.backends.added},
          {"removed", r.backends.removed},
          {"restarted", r.backends.restarted},
          {"updated", r.backends.updated},
          {"unchanged", r.backends.unchanged},
          {"applied", r.applied},
          {"needs_restart", r.needs_restart},
          {"warnings", r.warnings}};
}

std::vector<std::string> ReloadReportLines(const Json& report) {
  if (!report.is_object()) return {"the reload answered with something that is not a report"};
  std::vector<std::string> lines;
  auto file = report.find("file");
  lines.push_back("reloaded " + (file != report.end() && file->is_string() ? file->get<std::string>() : "the config"));
  static const std::pair<const char*, const char*> kBackendLists[] = {
      {"added", "added"},
      {"removed", "removed (stopped)"},
      {"restarted", "changed, restarted with the new settings"},
      {"updated", "changed, the new settings apply at the next start"},
      {"unchanged", "unchanged (left running as they were)"}};
  for (const auto& [key, label] : kBackendLists)
    if (auto names = Strings(report, key); !names.empty()) lines.push_back(std::string(label) + ": " + Join(names));
  for (const auto& s : Strings(report, "applied")) lines.push_back("applied: " + s);
  for (const auto& s : Strings(report, "needs_restart"))
    lines.push_back("not applied, needs a restart of the stack: " + s);
  for (const auto& s : Strings(report, "warnings")) lines.push_back(s);
  if (lines.size() == 1) lines.push_back("nothing changed");
  return lines;
}

}  // namespace llmdesk::control
