// models/model_file.h (private to models/) — the file operations the GGUF reader and `llmdesk pull` need, with a
// POSIX and a Windows side chosen at build time (docs/WINDOWS.md): model_file_posix.cpp (open/read/pwrite on an
// fd, fsync, rename), model_file_win32.cpp (CreateFileW with UTF-16 paths, ReadFile/WriteFile, FlushFileBuffers,
// MoveFileExW). Plain reads, no mapping: the reader looks at a header of a few MB, never the tensors.
//
// Errors: messages name the path in UTF-8 and the system's reason. Not thread-safe: one owner per ModelFile.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace llmdesk::models {

class ModelFile {
 public:
  // For reading. NotFound "PATH does not exist", else IoError "cannot open PATH: why".
  static Result<ModelFile> OpenForReading(const std::filesystem::path& path);
  // The pull's part file: read and write, created when missing (POSIX 0644), never opened through a symbolic
  // link; IoError "cannot write PATH: why", or "PATH is not a regular file".
  static Result<ModelFile> OpenForWriting(const std::filesystem::path& path);
  ModelFile();  // not open: valid() is false
  ModelFile(ModelFile&&) noexcept;
  ModelFile& operator=(ModelFile&&) noexcept;
  ~ModelFile();

  bool valid() const;
  void Close();
  // The size of a regular file; nullopt for anything else (a pipe, a device, a directory).
  std::optional<uint64_t> Size() const;
  // Reads up to `size` bytes at the current position: the count, 0 at the end, -1 on an error.
  long long Read(char* out, size_t size);
  bool SeekTo(uint64_t offset);
  bool Truncate();  // to 0 bytes, position 0

  // Writes all of `data` at the current position, or says why it stopped after `written` bytes.
  struct WriteResult {
    enum class Problem { kNone, kDiskFull, kFileSizeLimit, kOther };
    size_t written = 0;
    Problem problem = Problem::kNone;
    std::string why;  // the system's text for kOther
  };
  WriteResult Write(std::string_view data);
  Status Sync();  // fsync / FlushFileBuffers; IoError naming the file

 private:
  struct Handle;
  explicit ModelFile(std::unique_ptr<Handle> handle);
  std::unique_ptr<Handle> handle_;
};

// Renames `from` over `to` (replacing it) so a reader sees the old file or the new one, never half of one; then
// makes the rename durable (POSIX: fsync of the folder; Windows: MOVEFILE_WRITE_THROUGH). IoError naming both.
// (Not called ReplaceFile: windows.h makes that name a macro.)
Status MoveIntoPlace(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace llmdesk::models
