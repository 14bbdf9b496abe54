// Directories and files only we can touch, the Windows side; see private_files.h for what differs from POSIX.
#include <windows.h>
#undef ReplaceFile  // windows.h's macro for ReplaceFileW would rename ours

#include <fmt/format.h>

#include <cstdint>
#include <utility>

#include "manager/private_files.h"
#include "platform/random.h"
#include "platform/user_dirs.h"
#include "platform/utf16.h"

namespace llmdesk::manager {
namespace {

std::string Utf8(const std::filesystem::path& path) { return platform::PathToUtf8(path); }
std::string LastError() { return platform::ErrorText(GetLastError()); }

// Closes a file handle on every path out.
struct FileHandle {
  HANDLE h = INVALID_HANDLE_VALUE;
  ~FileHandle() {
    if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
  }
  bool valid() const { return h != INVALID_HANDLE_VALUE; }
};

}  // namespace

Status EnsurePrivateDir(const std::filesystem::path& dir, const std::string& what) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError(fmt::format("cannot create the {} {}: {}", what, Utf8(dir), ec.message()));
  const DWORD attributes = GetFileAttributesW(dir.c_str());
  if (attributes == INVALID_FILE_ATTRIBUTES)
    return Status::IoError(fmt::format("cannot inspect the {} {}: {}", what, Utf8(dir), LastError()));
  const std::string advice = "; remove it or point llmdesk elsewhere (%LOCALAPPDATA%)";
  if (attributes & FILE_ATTRIBUTE_REPARSE_POINT)
    return Status::PermissionDenied(fmt::format(
        "the {} {} is a symbolic link or junction; llmdesk only uses a real folder{}", what, Utf8(dir), advice));
  if (!(attributes & FILE_ATTRIBUTE_DIRECTORY))
    return Status::PermissionDenied(fmt::format("the {} {} is not a folder{}", what, Utf8(dir), advice));
  return Status::Ok();
}

Result<std::string> ReadPrivateFile(const std::filesystem::path& path, size_t max_bytes) {
  FileHandle file{CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                              nullptr, OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, nullptr)};
  if (!file.valid()) {
    const DWORD e = GetLastError();
    if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) return Status::NotFound(Utf8(path) + " does not exist");
    return Status::IoError("cannot open " + Utf8(path) + ": " + platform::ErrorText(e));
  }
  BY_HANDLE_FILE_INFORMATION info{};
  if (!GetFileInformationByHandle(file.h, &info) ||
      (info.dwFileAttributes & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY)) || GetFileType(file.h) != FILE_TYPE_DISK)
    return Status::InvalidArgument(Utf8(path) + " is not a regular file");
  const unsigned long long size = (static_cast<unsigned long long>(info.nFileSizeHigh) << 32) | info.nFileSizeLow;
  if (size > max_bytes) return Status::InvalidArgument(fmt::format("{} is larger than {} bytes", Utf8(path), max_bytes));
  std::string text(static_cast<size_t>(size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    DWORD n = 0;
    if (!ReadFile(file.h, text.data() + got, static_cast<DWORD>(text.size() - got), &n, nullptr) || n == 0) break;
    got += n;
  }
  text.resize(got);
  return text;
}

Status ReplaceFile(const std::filesystem::path& path, const std::string& text) {
  // A fresh name next to the target, created with CREATE_NEW: never an existing file or link.
  std::filesystem::path temp;
  FileHandle file;
  for (int attempt = 0; attempt < 8 && !file.valid(); ++attempt) {
    temp = path;
    uint64_t random = 0;
    platform::FillRandom(reinterpret_cast<unsigned char*>(&random), sizeof(random));
    temp += platform::PathFromUtf8(fmt::format(".{:016x}.tmp", random));
    file.h = CreateFileW(temp.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, nullptr);
  }
  if (!file.valid()) return Status::IoError("cannot create a temporary file next to " + Utf8(path) + ": " + LastError());
  size_t done = 0;
  bool ok = true;
  while (ok && done < text.size()) {
    DWORD n = 0;
    ok = WriteFile(file.h, text.data() + done, static_cast<DWORD>(text.size() - done), &n, nullptr) && n > 0;
    done += n;
  }
  ok = ok && FlushFileBuffers(file.h);  // the text is on disk before the name points at it (fsync)
  std::string why = ok ? "" : LastError();
  CloseHandle(std::exchange(file.h, INVALID_HANDLE_VALUE));
  if (ok && !MoveFileExW(temp.c_str(), path.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    ok = false;
    why = LastError();
  }
  if (!ok) {
    DeleteFileW(temp.c_str());
    return Status::IoError("cannot replace " + Utf8(path) + ": " + why);
  }
  return Status::Ok();
}

std::filesystem::path DefaultStateDir() {
  return platform::UserDataDir(platform::ProcessEnvValue) / "llmdesk" / "run";
}

std::filesystem::path DefaultLogDir() {
  return platform::UserDataDir(platform::ProcessEnvValue) / "llmdesk" / "logs";
}

}  // namespace llmdesk::manager
