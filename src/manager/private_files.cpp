// The config KEY of private_files.h, the same on every system (the rest: private_files_{posix,win32}.cpp).
#include "manager/private_files.h"

#include <fmt/format.h>

#include <cstdint>

#include "platform/user_dirs.h"

namespace llmdesk::manager {

// FNV-1a: a stable name for a config path (std::hash may differ between builds).
std::string ConfigKey(const std::string& source) {
  if (source.empty()) return "defaults";
  std::error_code ec;
  // UTF-8 both ways (on POSIX the bytes as they are): the key of a non-ASCII path is the same on every system.
  std::string path = platform::PathToUtf8(std::filesystem::weakly_canonical(platform::PathFromUtf8(source), ec));
  if (ec || path.empty()) path = source;
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : path) hash = (hash ^ c) * 1099511628211ull;
  return fmt::format("config-{:016x}", hash);
}

}  // namespace llmdesk::manager
