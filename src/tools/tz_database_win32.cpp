// tools/tz_database_win32.cpp — get_time's database on Windows: the text IANA database in `tzdata` beside
// llmdesk.exe (Windows has none in a form date/tz reads; docs/WINDOWS.md, "get_time on Windows").
#include <windows.h>

#include <date/tz.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string_view>
#include <system_error>

#include "platform/files.h"
#include "platform/sha256.h"
#include "platform/utf16.h"
#include "tools/tz_database.h"

namespace llmdesk::tools {
namespace {

constexpr wchar_t kFolderName[] = L"tzdata";  // the zip and the win64 build put it here (docs/WINDOWS.md)
constexpr wchar_t kManifest[] = L"MANIFEST.sha256";  // sha256sum's format, written by scripts/setup-windows-tz
// Every file date/tz 3.0.1 opens in its install folder (tz.cpp init_tzdb; it skips absent ones) and version.
constexpr std::array<std::string_view, 14> kReadByDateTz = {
    "africa",       "antarctica",   "asia",    "australasia", "backward",    "etcetera", "europe",
    "pacificnew",   "northamerica", "southamerica", "systemv", "leapseconds", "version", "windowsZones.xml"};
constexpr std::uintmax_t kMaxFileBytes = 1 << 20;  // the largest, windowsZones.xml, is ~50 KB

// `wide` in the ANSI code page, or nullopt when some character has no exact equivalent there.
std::optional<std::string> InAnsiCodePage(const std::wstring& wide) {
  if (wide.empty()) return std::nullopt;
  // With "Use Unicode UTF-8" (ANSI code page 65001) every name has an exact form, and WideCharToMultiByte refuses
  // WC_NO_BEST_FIT_CHARS and the lossy flag for UTF-8: convert plainly.
  if (GetACP() == CP_UTF8) return platform::Narrow(wide);
  BOOL lossy = FALSE;
  const int n = WideCharToMultiByte(CP_ACP, WC_NO_BEST_FIT_CHARS, wide.data(), static_cast<int>(wide.size()),
                                    nullptr, 0, nullptr, &lossy);
  if (n <= 0 || lossy) return std::nullopt;
  std::string out(static_cast<size_t>(n), '\0');
  WideCharToMultiByte(CP_ACP, WC_NO_BEST_FIT_CHARS, wide.data(), static_cast<int>(wide.size()), out.data(), n,
                      nullptr, &lossy);
  return out;
}

struct Location {
  std::filesystem::path folder;  // where the database should be
  std::string problem;           // why date/tz cannot be pointed there; empty when it was
};

// date/tz opens its files by narrow name (std::ifstream of a std::string), which the C runtime reads in the ANSI
// code page: a folder name outside it (llmdesk unpacked under "C:\Users\Jörg" on a non-Latin system) goes as
// its 8.3 short name when the volume has them.
Location Locate() {
  Location at;
  const std::filesystem::path program = platform::ExecutablePath().parent_path();
  if (program.empty()) {
    at.problem = "get_time cannot tell which folder llmdesk.exe runs from (" + platform::ErrorText(GetLastError()) +
                 "), so it cannot find its time zone database (the folder 'tzdata' beside llmdesk.exe)";
    return at;
  }
  at.folder = program / kFolderName;
  std::optional<std::string> narrow = InAnsiCodePage(at.folder.wstring());
  if (!narrow) {
    std::wstring shortened(32768, L'\0');
    const DWORD n = GetShortPathNameW(at.folder.c_str(), shortened.data(), static_cast<DWORD>(shortened.size()));
    if (n > 0 && n < shortened.size()) narrow = InAnsiCodePage(shortened.substr(0, n));
  }
  if (!narrow) {
    at.problem = "get_time cannot read its time zone database from " + platform::Narrow(at.folder.wstring()) +
                 ": the folder's name has characters outside Windows' ANSI code page and no short (8.3) name. "
                 "Move the llmdesk folder to a path with plain letters (e.g. C:\\llmdesk)";
    return at;
  }
  date::set_install(*narrow);
  return at;
}

// Reads a small regular file whole; nullopt when it is missing, not a file, too large or unreadable.
std::optional<std::string> ReadSmallFile(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return std::nullopt;
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec || size > kMaxFileBytes) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  std::string bytes(static_cast<size_t>(size), '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) return std::nullopt;
  return bytes;
}

// date/tz does not survive every damaged file (a Zone line it cannot parse makes it wait on itself forever; a
// missing rules file throws from inside std::call_once), so it is handed only the files the zip shipped: each one
// date/tz would open must be listed in MANIFEST.sha256 with its hash, and one not listed must not be there.
Status VerifyAgainstManifest(const std::filesystem::path& folder) {
  const std::string where = platform::Narrow(folder.wstring());
  const std::string again = ": unpack the whole llmdesk zip again (in a build tree: scripts/setup-windows)";
  std::optional<std::string> manifest = ReadSmallFile(folder / kManifest);
  if (!manifest) return Status::FailedPrecondition("get_time's time zone database in " + where + " has no readable "
                                                   "MANIFEST.sha256, so it cannot be checked" + again);
  std::map<std::string, std::string, std::less<>> listed;  // name -> lowercase hex SHA-256
  for (size_t at = 0; at < manifest->size();) {
    size_t end = manifest->find('\n', at);
    if (end == std::string::npos) end = manifest->size();
    std::string_view line(manifest->data() + at, end - at);
    at = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > 66 && line.substr(64, 2) == "  ") listed.emplace(line.substr(66), line.substr(0, 64));
  }
  for (std::string_view name : kReadByDateTz) {
    const std::filesystem::path file = folder / std::string(name);
    auto expected = listed.find(name);
    std::error_code ec;
    if (expected == listed.end()) {
      if (std::filesystem::exists(file, ec) || ec)
        return Status::FailedPrecondition("get_time's time zone database in " + where + " has a file '" +
                                          std::string(name) + "' the zip did not ship" + again);
      continue;
    }
    std::optional<std::string> bytes = ReadSmallFile(file);
    platform::Sha256 hash;
    if (bytes) hash.Update(*bytes);
    if (!bytes || hash.HexDigest() != expected->second)
      return Status::FailedPrecondition("get_time's time zone database in " + where + " is damaged: '" +
                                        std::string(name) + "' is " + (bytes ? "not" : "missing, not") +
                                        " what the zip shipped" + again);
  }
  return Status::Ok();
}

const Location& TheLocation() {
  static const Location location = Locate();  // once, thread-safe, before date/tz's first load (time.cpp)
  return location;
}

}  // namespace

Status PrepareTimeZoneDatabase() {
  const Location& at = TheLocation();
  if (!at.problem.empty()) return Status::FailedPrecondition(at.problem);
  std::error_code ec;
  if (!std::filesystem::is_directory(at.folder, ec))
    return Status::FailedPrecondition(
        "get_time needs the IANA time zone database in the folder 'tzdata' beside llmdesk.exe (" +
        platform::Narrow(at.folder.wstring()) + "), and it is missing: unpack the whole llmdesk zip, which has it; "
        "in a build tree, scripts/setup-windows and the win64 build put it there");
  // Checked once, before date/tz's first load (which is once per process too): what it read is what it keeps.
  static const Status verified = VerifyAgainstManifest(at.folder);
  return verified;
}

std::string TimeZoneDatabaseName() {
  const Location& at = TheLocation();
  return "the tzdata folder beside llmdesk.exe (" + platform::Narrow(at.folder.wstring()) + ")";
}

}  // namespace llmdesk::tools
