// config/mcp_import.h — `llmdesk mcp import FILE`: the servers of a Cursor / Claude Desktop mcp.json
// (`{"mcpServers": {NAME: {command, args, env} | {url, headers}}}`; VS Code's `"servers"` too) added to the
// `mcp_servers:` of llm_backends.yaml without losing anything the user wrote.
//
// - The YAML is edited as text: every existing line (comments, order, quoting) stays as it was; new
//   servers go at the end of the `mcp_servers:` block (created at the end of the file when absent), one
//   line each in flow style. The result is loaded again before anything is written: it must load without
//   new errors and give the same configuration apart from the added servers, else nothing is written.
// - A server whose name is already configured is reported and kept as it was, unless `overwrite` (then its
//   lines are replaced). Names are made valid config names ("brave search" -> "brave-search", reported).
//   `${env:NAME}` (Cursor) becomes `${NAME}`. An entry llmdesk cannot use (the old SSE transport, wrong
//   types, a disabled one) is skipped with the reason; keys llmdesk has no use for are named in the note.
// - Errors (InvalidArgument): bad JSON as "FILE:LINE:COL: ..." with what the parser expected; a file of
//   another shape; a config that does not load now (fix it first) or whose `mcp_servers:` is one flow map.
// Pure functions apart from ImportMcpJsonFile, which reads and writes files (never throws).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/config.h"

namespace llmdesk::config {

struct ImportedServer {
  enum class Outcome { kAdded, kReplaced, kExists, kSkipped };
  std::string name;  // the name in the config (after making it valid)
  Outcome outcome = Outcome::kAdded;
  std::string note;  // why it was skipped or kept, what was renamed or ignored
};

struct ImportResult {
  std::string yaml;  // the config text after the import
  std::vector<ImportedServer> servers;
  bool changed = false;  // whether `yaml` differs from the input (anything added or replaced)
};

Result<ImportResult> MergeMcpJson(std::string_view json_text, const std::string& json_name, const std::string& yaml_text,
                                  const std::string& yaml_name, bool overwrite, const GetEnv& env);

// Reads `json_file` and `config_file` (absent: a new file, its directories created), and when anything
// changed writes the new text to a temporary file beside it, fsyncs it and renames it over the config (a
// symlinked config has its target replaced; the file's permission bits are kept, a new file gets 0600).
Result<ImportResult> ImportMcpJsonFile(const std::filesystem::path& json_file, const std::filesystem::path& config_file,
                                       bool overwrite, const GetEnv& env);

// Where `llmdesk mcp import` creates a config when none is found: $XDG_CONFIG_HOME/llmdesk/llm_backends.yaml
// (else ~/.config/llmdesk/llm_backends.yaml); empty when neither variable is set.
std::filesystem::path UserConfigPath(const GetEnv& env);

const char* ToString(ImportedServer::Outcome outcome);  // "added" | "replaced" | "exists" | "skipped"

}  // namespace llmdesk::config
