// config/mcp_import_internal.h — internal to the mcp.json import: the entries read from the JSON file
// (mcp_import.cpp), handed to the YAML text edit (mcp_import_yaml.cpp).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace llmdesk::config::detail {

struct JsonServer {
  std::string name;  // valid as a config name
  std::string command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string url;
  std::map<std::string, std::string> headers;
  std::string note;  // renamed / ignored keys
  std::string skip;  // non-empty: why it cannot be imported
};

// The servers of an mcp.json text. InvalidArgument "NAME:LINE:COL: error: ..." for bad JSON, "NAME: ..." for
// another shape.
Result<std::vector<JsonServer>> ReadMcpJson(std::string_view text, const std::string& name);

}  // namespace llmdesk::config::detail
