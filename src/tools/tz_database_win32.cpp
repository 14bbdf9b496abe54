// tools/tz_database_win32.cpp — get_time's database on Windows: the text IANA database in `tzdata` beside
// llmdesk.exe (Windows has none in a form date/tz reads; docs/WINDOWS.md, "get_time on Windows").
#include <windows.h>

#include <date/tz.h>

#include <filesystem>
#include <optional>
#include <system_error>

#include "platform/utf16.h"
#include "tools/tz_database.h"

namespace llmdesk::tools {
namespace {

constexpr wchar_t kFolderName[] = L"tzdata";  // the zip and the win64 build put it here (docs/WINDOWS.md)

// The folder llmdesk.exe runs from (GetModuleFileNameW, growing the buffer for long paths); empty on failure.
std::filesystem::path ProgramFolder() {
  std::wstring buffer(MAX_PATH, L'\0');
  while (buffer.size() <= 32768) {  // Windows' longest path
    const DWORD n = GetModuleFileNameW(nullptr, buffer.data(), static_cast<DWORD>(buffer.size()));
    if (n == 0) return {};
    if (n < buffer.size()) {
      buffer.resize(n);
      return std::filesystem::path(buffer).parent_path();
    }
    buffer.resize(buffer.size() * 2);
  }
  return {};
}

// `wide` in the ANSI code page, or nullopt when some character has no exact equivalent there.
std::optional<std::string> InAnsiCodePage(const std::wstring& wide) {
  if (wide.empty()) return std::nullopt;
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
  const std::filesystem::path program = ProgramFolder();
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
  return Status::Ok();
}

std::string TimeZoneDatabaseName() {
  const Location& at = TheLocation();
  return "the tzdata folder beside llmdesk.exe (" + platform::Narrow(at.folder.wstring()) + ")";
}

}  // namespace llmdesk::tools
