// The text edit of `llmdesk mcp import` (contract in mcp_import.h): new servers go into the `mcp_servers:`
// block of llm_backends.yaml as lines of their own; every other line stays byte for byte. yaml-cpp is used
// only to find where things are (its marks), never to write the file back (that would drop the comments).
#include <algorithm>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "config/mcp_import.h"
#include "config/mcp_import_internal.h"

namespace llmdesk::config {
namespace {

using Lines = std::vector<std::string>;
using detail::JsonServer;

Lines SplitLines(const std::string& text) {
  Lines lines;
  size_t start = 0;
  for (size_t eol; (eol = text.find('\n', start)) != std::string::npos; start = eol + 1)
    lines.push_back(text.substr(start, eol - start));
  if (start < text.size()) lines.push_back(text.substr(start));  // a last line without its newline
  return lines;
}

std::string JoinLines(const Lines& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

bool IsContent(const std::string& line) {
  size_t p = line.find_first_not_of(" \t\r");
  return p != std::string::npos && line[p] != '#';
}

// One past the last line with content in [from, stop); `from` when there is none.
size_t EndOfContent(const Lines& lines, size_t from, size_t stop) {
  size_t end = from;
  for (size_t i = from; i < stop && i < lines.size(); ++i)
    if (IsContent(lines[i])) end = i + 1;
  return end;
}

// `name: {command: "...", args: ["..."], env: {K: "..."}}` — values double-quoted, so that no string
// ("null", "yes", "0755") is read back as something else.
std::string EntryText(const JsonServer& s) {
  auto map = [](YAML::Emitter& e, const std::map<std::string, std::string>& m) {
    e << YAML::Flow << YAML::BeginMap;
    for (const auto& [k, v] : m) e << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << v;
    e << YAML::EndMap;
  };
  YAML::Emitter e;
  e << YAML::BeginMap << YAML::Key << s.name << YAML::Value << YAML::Flow << YAML::BeginMap;
  if (!s.command.empty()) {
    e << YAML::Key << "command" << YAML::Value << YAML::DoubleQuoted << s.command;
    if (!s.args.empty()) {
      e << YAML::Key << "args" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& a : s.args) e << YAML::DoubleQuoted << a;
      e << YAML::EndSeq;
    }
    if (!s.env.empty()) e << YAML::Key << "env" << YAML::Value, map(e, s.env);
  } else {
    e << YAML::Key << "url" << YAML::Value << YAML::DoubleQuoted << s.url;
    if (!s.headers.empty()) e << YAML::Key << "headers" << YAML::Value, map(e, s.headers);
  }
  e << YAML::EndMap << YAML::EndMap;
  return e.c_str();
}

struct Edit {
  size_t start, end;  // lines [start, end) of the original are replaced by `with`
  Lines with;
};

// Where the existing `mcp_servers:` block is, and what its entries span.
struct Section {
  bool present = false;
  size_t insert_at = 0;  // new entries go before this line
  std::string indent = "  ";
  std::map<std::string, std::pair<size_t, size_t>> entries;
  std::optional<Edit> key_fix;  // `mcp_servers: null` / `{}` becomes `mcp_servers:` when entries follow
};

Result<Section> FindSection(const YAML::Node& root, const Lines& lines, const std::string& yaml_name) {
  Section section;
  section.insert_at = lines.size();
  if (!root.IsMap()) return section;  // empty, or only comments
  if (root.Style() == YAML::EmitterStyle::Flow)
    return Status::InvalidArgument(yaml_name + " is written as one flow map ({...}); write it in block style (one key "
                                   "per line) and import again");
  std::optional<size_t> key_line;
  size_t key_col = 0, stop = lines.size();
  YAML::Node value;
  for (const auto& kv : root) {
    const size_t line = static_cast<size_t>(std::max(0, kv.first.Mark().line));
    if (kv.first.Scalar() == "mcp_servers") key_line = line, key_col = kv.first.Mark().column, value = kv.second;
  }
  if (!key_line) return section;
  for (const auto& kv : root) {
    const size_t line = static_cast<size_t>(std::max(0, kv.first.Mark().line));
    if (line > *key_line) stop = std::min(stop, line);
  }
  section.present = true;
  section.indent = std::string(key_col + 2, ' ');
  section.insert_at = *key_line + 1;
  const std::string& text = lines[*key_line];
  if (value.IsNull() || (value.IsMap() && value.size() == 0 && value.Style() == YAML::EmitterStyle::Flow)) {
    size_t colon = text.find(':', key_col);
    std::string rest = colon == std::string::npos ? "" : text.substr(colon + 1);
    size_t v = rest.find_first_not_of(" \t\r");
    if (v != std::string::npos && rest[v] != '#') {  // `null`, `~` or `{}` before an optional comment
      size_t hash = rest.find('#', v);
      std::string comment = hash == std::string::npos ? "" : "  " + rest.substr(hash);
      section.key_fix = Edit{*key_line, *key_line + 1, {text.substr(0, colon + 1) + comment}};
    }
    return section;
  }
  if (!value.IsMap() || value.Style() == YAML::EmitterStyle::Flow)
    return Status::InvalidArgument(yaml_name + ":" + std::to_string(*key_line + 1) + ": mcp_servers is written in flow "
                                   "style ({...}); write one server per line under `mcp_servers:` and import again");
  std::vector<std::pair<size_t, std::string>> children;
  for (const auto& kv : value) children.emplace_back(static_cast<size_t>(std::max(0, kv.first.Mark().line)), kv.first.Scalar());
  std::sort(children.begin(), children.end());
  if (!children.empty()) section.indent = std::string(std::max(0, value.begin()->first.Mark().column), ' ');
  for (size_t i = 0; i < children.size(); ++i) {
    const size_t next = i + 1 < children.size() ? children[i + 1].first : stop;
    section.entries.emplace(children[i].second, std::pair(children[i].first, EndOfContent(lines, children[i].first, next)));
  }
  section.insert_at = EndOfContent(lines, *key_line + 1, stop);
  return section;
}

// Nothing the user had may change: the same settings apart from mcp_servers, every server that was there
// still there (unless replaced), every added one present.
Status CheckKept(const LoadResult& before, const LoadResult& after, const std::vector<ImportedServer>& servers,
                 const std::string& yaml_name) {
  const std::string nothing = "; nothing was written";
  if (!after.ok())
    return Status::InvalidArgument("the import would make " + yaml_name + " fail to load (" +
                                   after.errors().front().ToString() + ")" + nothing);
  nlohmann::json a = ToJson(before.config), b = ToJson(after.config);
  nlohmann::json old_servers = a["mcp_servers"], new_servers = b["mcp_servers"];
  a.erase("mcp_servers"), b.erase("mcp_servers");
  if (a != b) return Status::Internal("the import would change settings other than mcp_servers" + nothing);
  std::set<std::string> replaced;
  for (const auto& s : servers) {
    if (s.outcome == ImportedServer::Outcome::kReplaced) replaced.insert(s.name);
    if ((s.outcome == ImportedServer::Outcome::kAdded || s.outcome == ImportedServer::Outcome::kReplaced) &&
        !new_servers.contains(s.name))
      return Status::Internal("server '" + s.name + "' did not arrive in " + yaml_name + nothing);
  }
  for (const auto& [name, entry] : old_servers.items())
    if (!replaced.count(name) && (!new_servers.contains(name) || new_servers[name] != entry))
      return Status::Internal("the import would change server '" + name + "'" + nothing);
  return Status::Ok();
}

}  // namespace

Result<ImportResult> MergeMcpJson(std::string_view json_text, const std::string& json_name, const std::string& yaml_text,
                                  const std::string& yaml_name, bool overwrite, const GetEnv& env) {
  auto servers = detail::ReadMcpJson(json_text, json_name);
  if (!servers.ok()) return servers.status();
  LoadResult before = LoadString(yaml_text, yaml_name, env);
  if (!before.ok())
    return Status::InvalidArgument(before.errors().front().ToString() + "\n" + yaml_name +
                                   " does not load as it is; fix it first (nothing was changed)");
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {  // LoadString accepted it: not expected
    return Status::InvalidArgument(yaml_name + ": " + e.what());
  }
  const Lines lines = SplitLines(yaml_text);
  auto section = FindSection(root, lines, yaml_name);
  if (!section.ok()) return section.status();

  ImportResult result;
  std::vector<Edit> edits;
  Lines added;
  std::set<std::string> seen;
  for (const auto& s : *servers) {
    ImportedServer r{s.name, ImportedServer::Outcome::kAdded, s.note};
    auto skip = [&](const std::string& why) {
      r.outcome = ImportedServer::Outcome::kSkipped;
      r.note = why + (s.note.empty() ? "" : "; " + s.note);
      result.servers.push_back(r);
    };
    if (!s.skip.empty()) { skip(s.skip); continue; }
    if (!seen.insert(s.name).second) { skip("an earlier entry of " + json_name + " has the same name"); continue; }
    const std::string entry = EntryText(s);
    auto alone = LoadString("mcp_servers:\n  " + entry + "\n", json_name, env);  // e.g. ${VAR} that is not set
    if (!alone.ok()) { skip(alone.errors().front().key + ": " + alone.errors().front().message); continue; }
    if (auto it = section->entries.find(s.name); it != section->entries.end()) {
      if (!overwrite) {
        r.outcome = ImportedServer::Outcome::kExists;
        r.note = "already in " + yaml_name + " (line " + std::to_string(it->second.first + 1) +
                 "); kept as it is (--overwrite replaces it)";
        result.servers.push_back(r);
        continue;
      }
      edits.push_back({it->second.first, it->second.second, {section->indent + entry}});
      r.outcome = ImportedServer::Outcome::kReplaced;
    } else {
      added.push_back(section->indent + entry);
    }
    result.servers.push_back(r);
  }
  if (!added.empty()) {
    if (!section->present) {
      Lines block;
      if (!lines.empty() && IsContent(lines.back())) block.push_back("");
      block.push_back("mcp_servers:");
      block.insert(block.end(), added.begin(), added.end());
      added = std::move(block);
    }
    edits.push_back({section->insert_at, section->insert_at, added});
    if (section->key_fix) edits.push_back(*section->key_fix);
  }
  result.changed = !edits.empty();
  if (!result.changed) {
    result.yaml = yaml_text;
    return result;
  }
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.start > b.start; });
  Lines out = lines;
  for (const auto& e : edits) {
    out.erase(out.begin() + static_cast<long>(e.start), out.begin() + static_cast<long>(e.end));
    out.insert(out.begin() + static_cast<long>(e.start), e.with.begin(), e.with.end());
  }
  result.yaml = JoinLines(out);
  if (Status kept = CheckKept(before, LoadString(result.yaml, yaml_name, env), result.servers, yaml_name); !kept.ok())
    return kept;
  return result;
}

}  // namespace llmdesk::config
