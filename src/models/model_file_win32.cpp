// models/model_file.h on Windows: a HANDLE from CreateFileW (UTF-16 path), ReadFile/WriteFile, SetFilePointerEx,
// FlushFileBuffers, MoveFileExW. The part file is opened with FILE_FLAG_OPEN_REPARSE_POINT, so a symbolic link
// planted in its place is opened itself (and refused), never followed — O_NOFOLLOW's counterpart.
#include "models/model_file.h"

#include <windows.h>

#include <algorithm>

#include "platform/user_dirs.h"
#include "platform/utf16.h"

namespace llmdesk::models {
namespace {

std::string Utf8(const std::filesystem::path& p) { return platform::PathToUtf8(p); }

}  // namespace

struct ModelFile::Handle {
  HANDLE h = INVALID_HANDLE_VALUE;
  std::filesystem::path path;
  ~Handle() {
    if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
  }
};

ModelFile::ModelFile(std::unique_ptr<Handle> handle) : handle_(std::move(handle)) {}
ModelFile::ModelFile() = default;
ModelFile::ModelFile(ModelFile&&) noexcept = default;
ModelFile& ModelFile::operator=(ModelFile&&) noexcept = default;
ModelFile::~ModelFile() = default;

Result<ModelFile> ModelFile::OpenForReading(const std::filesystem::path& path) {
  auto handle = std::make_unique<Handle>();
  handle->path = path;
  handle->h = CreateFileW(path.native().c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                          nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_SEQUENTIAL_SCAN, nullptr);
  if (handle->h == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) return Status::NotFound(Utf8(path) + " does not exist");
    return Status::IoError("cannot open " + Utf8(path) + ": " + platform::ErrorText(e));
  }
  return ModelFile(std::move(handle));
}

Result<ModelFile> ModelFile::OpenForWriting(const std::filesystem::path& path) {
  auto handle = std::make_unique<Handle>();
  handle->path = path;
  handle->h = CreateFileW(path.native().c_str(), GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE,
                          nullptr, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (handle->h == INVALID_HANDLE_VALUE)
    return Status::IoError("cannot write " + Utf8(path) + ": " + platform::ErrorText(GetLastError()));
  BY_HANDLE_FILE_INFORMATION info{};
  if (!GetFileInformationByHandle(handle->h, &info) ||
      (info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) ||
      GetFileType(handle->h) != FILE_TYPE_DISK)
    return Status::IoError(Utf8(path) + " is not a regular file");
  return ModelFile(std::move(handle));
}

bool ModelFile::valid() const { return handle_ && handle_->h != INVALID_HANDLE_VALUE; }

void ModelFile::Close() { handle_.reset(); }

std::optional<uint64_t> ModelFile::Size() const {
  LARGE_INTEGER size{};
  if (!valid() || GetFileType(handle_->h) != FILE_TYPE_DISK || !GetFileSizeEx(handle_->h, &size)) return std::nullopt;
  return static_cast<uint64_t>(size.QuadPart);
}

long long ModelFile::Read(char* out, size_t size) {
  DWORD got = 0;
  const DWORD want = static_cast<DWORD>(std::min<size_t>(size, 1u << 30));
  if (!ReadFile(handle_->h, out, want, &got, nullptr)) return -1;
  return got;
}

bool ModelFile::SeekTo(uint64_t offset) {
  LARGE_INTEGER to{};
  to.QuadPart = static_cast<LONGLONG>(offset);
  return SetFilePointerEx(handle_->h, to, nullptr, FILE_BEGIN) != 0;
}

bool ModelFile::Truncate() { return SeekTo(0) && SetEndOfFile(handle_->h); }

ModelFile::WriteResult ModelFile::Write(std::string_view data) {
  WriteResult r;
  while (r.written < data.size()) {
    DWORD wrote = 0;
    const DWORD chunk = static_cast<DWORD>(std::min<size_t>(data.size() - r.written, 1u << 30));
    if (!WriteFile(handle_->h, data.data() + r.written, chunk, &wrote, nullptr)) {
      DWORD e = GetLastError();
      r.problem = e == ERROR_DISK_FULL || e == ERROR_HANDLE_DISK_FULL
                      ? WriteResult::Problem::kDiskFull
                  : e == ERROR_FILE_TOO_LARGE ? WriteResult::Problem::kFileSizeLimit
                                              : WriteResult::Problem::kOther;
      r.why = platform::ErrorText(e);
      return r;
    }
    r.written += wrote;
  }
  return r;
}

Status ModelFile::Sync() {
  if (!FlushFileBuffers(handle_->h))
    return Status::IoError("cannot write " + Utf8(handle_->path) + ": " + platform::ErrorText(GetLastError()));
  return Status::Ok();
}

Status MoveIntoPlace(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (!MoveFileExW(from.native().c_str(), to.native().c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
    return Status::IoError("cannot rename " + Utf8(from) + " to " + Utf8(to) + ": " +
                           platform::ErrorText(GetLastError()));
  return Status::Ok();
}

}  // namespace llmdesk::models
