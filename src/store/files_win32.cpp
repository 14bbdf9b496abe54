// store/files.h on Windows: UTF-16 paths at the API (fs::path::native()), UTF-8 in messages; reparse points
// (symbolic links, junctions) are what a planted symlink is here, refused like a symlink on POSIX.
#include "store/files.h"

#include <windows.h>

#include "platform/user_dirs.h"
#include "platform/utf16.h"
#include "process/process.h"

namespace llmdesk::store {
namespace {

std::string Utf8(const std::filesystem::path& p) { return platform::PathToUtf8(p); }

std::string LastError() { return platform::ErrorText(GetLastError()); }

constexpr DWORD kNoFile = INVALID_FILE_ATTRIBUTES;

}  // namespace

Status PrepareDirectory(const std::filesystem::path& dir) {
  std::filesystem::path at;
  for (const auto& part : dir) {  // "C:", "\", "Users", ...: only the missing ones are created
    at /= part;
    if (GetFileAttributesW(at.native().c_str()) != kNoFile) continue;
    if (!CreateDirectoryW(at.native().c_str(), nullptr) && GetLastError() != ERROR_ALREADY_EXISTS)
      return Status::IoError("cannot create " + Utf8(at) + ": " + LastError());
  }
  const DWORD attributes = GetFileAttributesW(dir.native().c_str());
  if (attributes == kNoFile || !(attributes & FILE_ATTRIBUTE_DIRECTORY) || (attributes & FILE_ATTRIBUTE_REPARSE_POINT))
    return Status::PermissionDenied(Utf8(dir) + " is not a directory (a symbolic link or junction?); remove it or "
                                    "choose another place");
  return Status::Ok();
}

Status PrepareFile(const std::filesystem::path& file) {
  // FILE_FLAG_OPEN_REPARSE_POINT: a link is opened itself, never followed, so it is seen and refused below.
  HANDLE h = CreateFileW(file.native().c_str(), GENERIC_READ | GENERIC_WRITE,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_ALWAYS,
                         FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (h == INVALID_HANDLE_VALUE)
    return Status::PermissionDenied("cannot open " + Utf8(file) + " (" + LastError() +
                                    "); it must be a regular file, not a symbolic link");
  BY_HANDLE_FILE_INFORMATION info{};
  const bool regular = GetFileInformationByHandle(h, &info) &&
                       !(info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT));
  CloseHandle(h);
  if (!regular) return Status::PermissionDenied(Utf8(file) + " is not a regular file (a symbolic link?)");
  return Status::Ok();
}

Status RefuseCompanionSymlinks(const std::filesystem::path& file) {
  for (const wchar_t* suffix : {L"-wal", L"-shm", L"-journal"}) {
    const std::filesystem::path companion(file.native() + suffix);
    const DWORD attributes = GetFileAttributesW(companion.native().c_str());
    if (attributes != kNoFile && (attributes & FILE_ATTRIBUTE_REPARSE_POINT))
      return Status::PermissionDenied(Utf8(companion) + " is a symbolic link; llmdesk never opens its database files "
                                      "through one: remove it");
  }
  return Status::Ok();
}

// The creation time from GetProcessTimes (process/process.h), nullopt once the process has exited.
std::string ProcessIdentity(long long pid) {
  auto started = process::ProcessStartTime(static_cast<pid_t>(pid));
  return started ? std::to_string(pid) + ":" + std::to_string(*started) : "";
}

long long CurrentProcessId() { return static_cast<long long>(GetCurrentProcessId()); }

}  // namespace llmdesk::store
