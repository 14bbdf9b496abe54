// platform/files.h on Windows: GetModuleFileNameW and GetDiskFreeSpaceExW, paths as UTF-16 (fs::path::native()).
#include "platform/files.h"

#include <windows.h>

#include <string>

namespace llmdesk::platform {

std::filesystem::path ExecutablePath() {
  std::wstring path(MAX_PATH, L'\0');
  while (true) {  // long paths: the buffer grows until the name fits (the call truncates silently otherwise)
    DWORD n = GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
    if (n == 0) return {};
    if (n < path.size()) return std::filesystem::path(path.substr(0, n));
    if (path.size() >= 32768) return {};
    path.resize(path.size() * 2);
  }
}

std::optional<uint64_t> FreeDiskBytes(const std::filesystem::path& dir) {
  ULARGE_INTEGER available{};
  if (!GetDiskFreeSpaceExW(dir.native().c_str(), &available, nullptr, nullptr)) return std::nullopt;
  return static_cast<uint64_t>(available.QuadPart);
}

}  // namespace llmdesk::platform
