// Reading the end of a backend's log and following it (manager.h), the Windows side: ReadFile at offsets, and
// a change notification on the log's folder (FindFirstChangeNotificationW) plus an event for cancellation,
// waited on with WaitForMultipleObjects: no polling.
#include <windows.h>

#include <algorithm>

#include "common/cancel.h"
#include "manager/log_tail.h"
#include "manager/manager.h"
#include "platform/user_dirs.h"
#include "platform/utf16.h"

namespace llmdesk::manager {
namespace {

struct Handle {
  HANDLE h;
  ~Handle() {
    if (h != nullptr && h != INVALID_HANDLE_VALUE) CloseHandle(h);
  }
};

// Shared for read, write and delete: the engine's LineLog keeps writing and rotating while we read.
HANDLE OpenForReading(const std::filesystem::path& path) {
  return CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                     OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
}

Status OpenStatus(const std::filesystem::path& path) {
  const DWORD e = GetLastError();
  const std::string name = platform::PathToUtf8(path);
  if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)
    return Status::NotFound("no log at " + name + " (the backend has not run yet?)");
  return Status::IoError("cannot open " + name + ": " + platform::ErrorText(e));
}

bool SameFile(HANDLE a, const std::filesystem::path& path) {
  Handle b{OpenForReading(path)};
  BY_HANDLE_FILE_INFORMATION ia{}, ib{};
  return b.h != INVALID_HANDLE_VALUE && GetFileInformationByHandle(a, &ia) && GetFileInformationByHandle(b.h, &ib) &&
         ia.nFileIndexHigh == ib.nFileIndexHigh && ia.nFileIndexLow == ib.nFileIndexLow &&
         ia.dwVolumeSerialNumber == ib.dwVolumeSerialNumber;
}

struct ChangeNotification {
  HANDLE h;
  ~ChangeNotification() {
    if (h != INVALID_HANDLE_VALUE) FindCloseChangeNotification(h);
  }
};

}  // namespace

Result<std::vector<std::string>> TailLogFile(const std::filesystem::path& path, size_t lines) {
  Handle file{OpenForReading(path)};
  if (file.h == INVALID_HANDLE_VALUE) return OpenStatus(path);
  BY_HANDLE_FILE_INFORMATION info{};
  if (!GetFileInformationByHandle(file.h, &info) ||
      (info.dwFileAttributes & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY)))
    return Status::InvalidArgument(platform::PathToUtf8(path) + " is not a regular file");
  // Read backwards in blocks until enough newlines are seen (a 4 MiB log costs a few blocks).
  constexpr long long kBlock = 64 * 1024;
  long long end = (static_cast<long long>(info.nFileSizeHigh) << 32) | info.nFileSizeLow;
  std::string tail;
  size_t newlines = 0;
  while (end > 0 && newlines <= lines) {
    const long long n = std::min(end, kBlock);
    std::string block(static_cast<size_t>(n), '\0');
    OVERLAPPED at{};
    at.Offset = static_cast<DWORD>((end - n) & 0xffffffffLL);
    at.OffsetHigh = static_cast<DWORD>((end - n) >> 32);
    DWORD got = 0;
    if (!ReadFile(file.h, block.data(), static_cast<DWORD>(n), &got, &at) || got != n)
      return Status::IoError("cannot read " + platform::PathToUtf8(path));
    newlines += static_cast<size_t>(std::count(block.begin(), block.end(), '\n'));
    tail.insert(0, block);
    end -= n;
  }
  return TailLines(tail, end > 0, lines);
}

Status FollowLogFile(const std::filesystem::path& path, const std::function<bool(std::string_view)>& on_text,
                     const CancelToken* cancel) {
  Handle file{OpenForReading(path)};
  if (file.h == INVALID_HANDLE_VALUE) return OpenStatus(path);
  LARGE_INTEGER zero{};
  if (!SetFilePointerEx(file.h, zero, nullptr, FILE_END)) return Status::IoError("cannot read " + platform::PathToUtf8(path));
  ChangeNotification change{FindFirstChangeNotificationW(path.parent_path().c_str(), FALSE,
                                             FILE_NOTIFY_CHANGE_SIZE | FILE_NOTIFY_CHANGE_LAST_WRITE |
                                                 FILE_NOTIFY_CHANGE_FILE_NAME)};
  Handle wake{CreateEventW(nullptr, TRUE, FALSE, nullptr)};
  if (change.h == INVALID_HANDLE_VALUE || wake.h == nullptr)
    return Status::IoError("cannot watch " + platform::PathToUtf8(path) + ": " + platform::ErrorText(GetLastError()));
  CancelWatch wake_on_cancel(cancel, [&wake] { SetEvent(wake.h); });
  for (bool going = !(cancel && cancel->cancelled()); going;) {
    HANDLE handles[2] = {change.h, wake.h};
    const DWORD r = WaitForMultipleObjects(2, handles, FALSE, INFINITE);
    if (r != WAIT_OBJECT_0) break;  // cancelled, or the wait failed
    char buf[65536];
    DWORD got = 0;
    while (going && ReadFile(file.h, buf, sizeof(buf), &got, nullptr) && got > 0)
      if (!on_text(std::string_view(buf, got))) going = false;
    if (going && !SameFile(file.h, path)) return Status::Unavailable(platform::PathToUtf8(path) + " was rotated or removed");
    if (!FindNextChangeNotification(change.h)) break;
  }
  return Status::Ok();
}

}  // namespace llmdesk::manager
