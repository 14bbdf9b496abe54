// platform/files.h — facts about files and this program that POSIX and Windows answer differently.
// Nothing here throws; a question the system cannot answer gives an empty path / nullopt.
//   POSIX: /proc/self/exe, statvfs. Win32: GetModuleFileNameW, GetDiskFreeSpaceExW (UTF-16 at the API).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

namespace llmdesk::platform {

// The running program's own file (llmdesk, llmdesk.exe): where files shipped beside it are looked for.
std::filesystem::path ExecutablePath();

// Bytes an unprivileged user may still write on the file system holding `dir` (statvfs f_bavail × f_frsize;
// Windows: GetDiskFreeSpaceExW's caller-available bytes, quotas included). nullopt when it cannot be told.
std::optional<uint64_t> FreeDiskBytes(const std::filesystem::path& dir);

}  // namespace llmdesk::platform
