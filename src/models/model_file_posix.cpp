// models/model_file.h on POSIX: an fd (open O_CLOEXEC, O_NOFOLLOW for writing), read/lseek/write/fsync, rename.
#include "models/model_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/unique_fd.h"

namespace llmdesk::models {

struct ModelFile::Handle {
  UniqueFd fd;
  std::filesystem::path path;
};

ModelFile::ModelFile(std::unique_ptr<Handle> handle) : handle_(std::move(handle)) {}
ModelFile::ModelFile() = default;
ModelFile::ModelFile(ModelFile&&) noexcept = default;
ModelFile& ModelFile::operator=(ModelFile&&) noexcept = default;
ModelFile::~ModelFile() = default;

Result<ModelFile> ModelFile::OpenForReading(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int e = errno;
    if (e == ENOENT) return Status::NotFound(path.string() + " does not exist");
    return Status::IoError("cannot open " + path.string() + ": " + std::strerror(e));
  }
  return ModelFile(std::make_unique<Handle>(Handle{std::move(fd), path}));
}

Result<ModelFile> ModelFile::OpenForWriting(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd.valid()) return Status::IoError("cannot write " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return Status::IoError(path.string() + " is not a regular file");
  return ModelFile(std::make_unique<Handle>(Handle{std::move(fd), path}));
}

bool ModelFile::valid() const { return handle_ && handle_->fd.valid(); }

void ModelFile::Close() { handle_.reset(); }

std::optional<uint64_t> ModelFile::Size() const {
  struct stat st {};
  if (!valid() || ::fstat(handle_->fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

long long ModelFile::Read(char* out, size_t size) {
  ssize_t n;
  do n = ::read(handle_->fd.get(), out, size);
  while (n < 0 && errno == EINTR);
  return n;
}

bool ModelFile::SeekTo(uint64_t offset) {
  return ::lseek(handle_->fd.get(), static_cast<off_t>(offset), SEEK_SET) == static_cast<off_t>(offset);
}

bool ModelFile::Truncate() { return ::ftruncate(handle_->fd.get(), 0) == 0 && SeekTo(0); }

ModelFile::WriteResult ModelFile::Write(std::string_view data) {
  WriteResult r;
  while (r.written < data.size()) {
    ssize_t n = ::write(handle_->fd.get(), data.data() + r.written, data.size() - r.written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      r.problem = e == ENOSPC || e == EDQUOT ? WriteResult::Problem::kDiskFull
                  : e == EFBIG              ? WriteResult::Problem::kFileSizeLimit
                                            : WriteResult::Problem::kOther;
      r.why = std::strerror(e);
      return r;
    }
    r.written += static_cast<size_t>(n);
  }
  return r;
}

Status ModelFile::Sync() {
  if (::fsync(handle_->fd.get()) != 0)
    return Status::IoError("cannot write " + handle_->path.string() + ": " + std::strerror(errno));
  return Status::Ok();
}

Status MoveIntoPlace(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    return Status::IoError("cannot rename " + from.string() + " to " + to.string() + ": " + std::strerror(errno));
  UniqueFd dir(::open(to.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) ::fsync(dir.get());
  return Status::Ok();
}

}  // namespace llmdesk::models
