// FindProgram on Windows: the PATH lookup of process.h (';'-separated, `.exe` added to a name without extension).
#include <system_error>

#include "platform/user_dirs.h"
#include "process/process.h"

namespace llmdesk::process {
namespace {

bool IsFile(const std::filesystem::path& path) {
  std::error_code ec;  // non-throwing: a path too long for the system is just not a program
  return std::filesystem::is_regular_file(path, ec);
}

// `path`, or `path.exe` when it has no extension (CreateProcessW with a program name adds nothing itself).
std::optional<std::filesystem::path> Existing(std::filesystem::path path) {
  if (!path.has_extension()) path += L".exe";
  return IsFile(path) ? std::optional(path) : std::nullopt;
}

}  // namespace

std::optional<std::filesystem::path> FindProgram(std::string_view name, std::string_view search_path) {
  if (name.empty()) return std::nullopt;
  if (name.find_first_of("/\\:") != std::string_view::npos) return Existing(platform::PathFromUtf8(name));
  while (!search_path.empty()) {
    const size_t semicolon = search_path.find(';');
    std::string_view dir = search_path.substr(0, semicolon);
    search_path = semicolon == std::string_view::npos ? std::string_view() : search_path.substr(semicolon + 1);
    if (dir.size() >= 2 && dir.front() == '"' && dir.back() == '"') dir = dir.substr(1, dir.size() - 2);
    if (dir.empty()) continue;
    if (auto found = Existing(platform::PathFromUtf8(dir) / platform::PathFromUtf8(name))) return found;
  }
  return std::nullopt;
}

}  // namespace llmdesk::process
