// mcp.json -> llm_backends.yaml (contract in mcp_import.h): reading the JSON file and its entries, and the
// file I/O. The text edit of the YAML is in mcp_import_yaml.cpp.
#include "config/mcp_import.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/unique_fd.h"
#include "config/mcp_import_internal.h"
#include "platform/user_dirs.h"

namespace llmdesk::config {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;  // entries are reported in the file's order
constexpr size_t kMaxFileBytes = 4 * 1024 * 1024;

// The number after `word` in `text` ("... at line 3, column 7: ..."), or 0.
int NumberAfter(const std::string& text, std::string_view word) {
  size_t at = text.find(word);
  if (at == std::string::npos) return 0;
  int value = 0;
  const char* begin = text.data() + at + word.size();
  std::from_chars(begin, text.data() + text.size(), value);
  return value;
}

// Records the first parse error; everything else is accepted (the DOM parse already failed).
struct ErrorSax : nlohmann::json_sax<Json> {
  std::string message;
  size_t position = 0;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& ex) override {
    position = pos;
    message = ex.what();
    return false;
  }
};

// "FILE:LINE:COL: error: <what the parser expected>".
std::string JsonErrorText(std::string_view text, const std::string& name) {
  ErrorSax sax;
  Json::sax_parse(text, &sax, nlohmann::detail::input_format_t::json, /*strict=*/true, /*ignore_comments=*/true);
  int line = NumberAfter(sax.message, "line "), column = NumberAfter(sax.message, "column ");
  if (line == 0) {  // no position in the message: count it from the byte offset
    line = 1, column = 1;
    for (size_t i = 0; i + 1 < sax.position && i < text.size(); ++i) text[i] == '\n' ? (++line, column = 1) : ++column;
  }
  std::string what = sax.message;
  if (size_t at = what.find("column "); at != std::string::npos && (at = what.find(": ", at)) != std::string::npos)
    what = what.substr(at + 2);
  return name + ":" + std::to_string(line) + ":" + std::to_string(column) + ": error: not valid JSON: " + what;
}

// A config name from an mcp.json name: characters outside [A-Za-z0-9_.:-] become '-', at most 64.
std::string ValidName(const std::string& name) {
  std::string out;
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':';
    if (out.empty() && !std::isalnum(static_cast<unsigned char>(c))) continue;
    out += ok ? c : '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.substr(0, 64);
}

// Cursor's `${env:NAME}` is llmdesk's `${NAME}`.
std::string CursorVars(std::string s) {
  for (size_t at; (at = s.find("${env:")) != std::string::npos;) s.erase(at + 2, 4);
  return s;
}

bool StringMap(const OrderedJson& j, std::map<std::string, std::string>& out) {
  if (!j.is_object()) return false;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return false;
    out[k] = CursorVars(v.get<std::string>());
  }
  return true;
}

// One mcp.json entry; `skip` says why it cannot be used.
detail::JsonServer ReadEntry(const std::string& key, const OrderedJson& e) {
  detail::JsonServer s;
  s.name = ValidName(key);
  if (s.name.empty()) s.name = "server";
  if (s.name != key) s.note = "named '" + s.name + "' (from '" + key + "')";
  auto fail = [&](std::string why) {
    s.skip = std::move(why);
    return s;
  };
  if (!e.is_object()) return fail("expected an object with `command` or `url`");
  if (s.name == kOwnServerName) return fail("llmdesk's own tools are always offered to the chat");
  if (e.contains("disabled") && e["disabled"] == true) return fail("it is disabled in the file");
  const std::string type = e.contains("type") && e["type"].is_string() ? e["type"].get<std::string>() : "";
  if (type == "sse")
    return fail("it uses the old HTTP+SSE transport, which llmdesk does not speak; if the server also speaks "
                "Streamable HTTP, add its /mcp URL by hand");
  const bool has_command = e.contains("command"), has_url = e.contains("url") || e.contains("serverUrl");
  if (has_command == has_url) return fail("expected exactly one of `command` (stdio) or `url` (HTTP)");
  std::vector<std::string> ignored;
  for (const auto& [k, v] : e.items())
    if (k != "command" && k != "args" && k != "env" && k != "url" && k != "serverUrl" && k != "headers" && k != "type" &&
        k != "disabled")
      ignored.push_back(k);
  if (has_command) {
    if (!e["command"].is_string() || e["command"].get<std::string>().empty())
      return fail("`command` must be a non-empty string");
    s.command = CursorVars(e["command"].get<std::string>());
    if (e.contains("args")) {
      if (!e["args"].is_array()) return fail("`args` must be a list of strings");
      for (const auto& a : e["args"]) {
        if (!a.is_string()) return fail("`args` must be a list of strings");
        s.args.push_back(CursorVars(a.get<std::string>()));
      }
    }
    if (e.contains("env") && !e["env"].is_null() && !StringMap(e["env"], s.env))
      return fail("`env` must be an object of strings");
    if (e.contains("headers")) ignored.push_back("headers");
  } else {
    const OrderedJson& url = e.contains("url") ? e["url"] : e["serverUrl"];
    if (!url.is_string()) return fail("`url` must be a string");
    s.url = CursorVars(url.get<std::string>());
    if (e.contains("headers") && !e["headers"].is_null() && !StringMap(e["headers"], s.headers))
      return fail("`headers` must be an object of strings");
    for (const char* k : {"args", "env"})
      if (e.contains(k)) ignored.push_back(k);
  }
  if (!ignored.empty()) {
    std::string list;
    for (const auto& k : ignored) list += (list.empty() ? "" : ", ") + k;
    s.note += (s.note.empty() ? "" : "; ") + std::string("ignored: ") + list;
  }
  return s;
}

Result<std::string> ReadSmallFile(const std::filesystem::path& path, bool missing_ok) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    if (missing_ok && ec == std::errc::no_such_file_or_directory) return std::string();
    return Status::NotFound("cannot read " + path.string() + ": " + ec.message());
  }
  if (size > kMaxFileBytes) return Status::InvalidArgument(path.string() + " is larger than 4 MiB; is it the right file?");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (!in) return Status::IoError("cannot read " + path.string());
  return buffer.str();
}

// Temporary file beside `path`, fsync, rename: a crash leaves the old file or the new one, never half.
Status WriteAtomically(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  std::string tmp = (path.parent_path() / ("." + path.filename().string() + ".XXXXXX")).string();
  UniqueFd fd(mkstemp(tmp.data()));
  if (!fd.valid()) return Status::IoError("cannot create a file beside " + path.string() + ": " + std::strerror(errno));
  bool ok = fchmod(fd.get(), mode) == 0;
  for (size_t done = 0; ok && done < text.size();) {
    ssize_t n = write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd.get()) == 0;
  const int saved = errno;
  fd.reset();
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int why = ok ? errno : saved;
    unlink(tmp.c_str());
    return Status::IoError("cannot write " + path.string() + ": " + std::strerror(why) + " (it was left as it was)");
  }
  return Status::Ok();
}

}  // namespace

const char* ToString(ImportedServer::Outcome o) {
  switch (o) {
    case ImportedServer::Outcome::kAdded: return "added";
    case ImportedServer::Outcome::kReplaced: return "replaced";
    case ImportedServer::Outcome::kExists: return "exists";
    case ImportedServer::Outcome::kSkipped: return "skipped";
  }
  return "skipped";
}

Result<std::vector<detail::JsonServer>> detail::ReadMcpJson(std::string_view text, const std::string& name) {
  OrderedJson root = OrderedJson::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (root.is_discarded()) return Status::InvalidArgument(JsonErrorText(text, name));
  const char* shape = "expected an object with \"mcpServers\": {NAME: {command, args, env} or {url, headers}} "
                      "(the mcp.json of Cursor or Claude Desktop)";
  if (!root.is_object()) return Status::InvalidArgument(name + ": " + shape);
  const OrderedJson* servers = nullptr;
  for (const char* key : {"servers", "mcpServers"})  // Cursor / Claude Desktop's key wins over VS Code's
    if (root.contains(key)) servers = &root[key];
  if (!servers || !servers->is_object()) return Status::InvalidArgument(name + ": " + shape);
  std::vector<JsonServer> out;
  for (const auto& [key, entry] : servers->items()) out.push_back(ReadEntry(key, entry));
  return out;
}

std::filesystem::path UserConfigPath(const GetEnv& env) {
  const std::filesystem::path dir = platform::UserConfigDir(env);  // %APPDATA% on Windows
  return dir.empty() ? dir : dir / "llmdesk" / "llm_backends.yaml";
}

Result<ImportResult> ImportMcpJsonFile(const std::filesystem::path& json_file, const std::filesystem::path& config_file,
                                       bool overwrite, const GetEnv& env) {
  auto json_text = ReadSmallFile(json_file, false);
  if (!json_text.ok()) return json_text.status();
  std::error_code ec;
  std::filesystem::path target = config_file;
  if (std::filesystem::is_symlink(config_file, ec)) {  // replace the file the link points to, keep the link
    target = std::filesystem::canonical(config_file, ec);
    if (ec) return Status::IoError("cannot follow the link " + config_file.string() + ": " + ec.message());
  }
  auto yaml_text = ReadSmallFile(target, true);
  if (!yaml_text.ok()) return yaml_text.status();
  auto merged = MergeMcpJson(*json_text, json_file.string(), *yaml_text, config_file.string(), overwrite, env);
  if (!merged.ok() || !merged->changed) return merged;
  struct stat st{};
  mode_t mode = ::stat(target.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0600;  // may hold tokens: private
  if (!target.parent_path().empty()) std::filesystem::create_directories(target.parent_path(), ec);
  if (Status s = WriteAtomically(target, merged->yaml, mode); !s.ok()) return s;
  return merged;
}

}  // namespace llmdesk::config
