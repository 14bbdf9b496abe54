// process/wait.h on Windows: WaitForMultipleObjects, and a manual-reset event as the wake.
#include <windows.h>

#include <algorithm>

#include "platform/utf16.h"
#include "process/wait.h"

namespace llmdesk::process {

Result<std::vector<bool>> WaitAny(const std::vector<Waitable>& entries, std::chrono::milliseconds timeout) {
  std::vector<HANDLE> handles;
  for (const auto& e : entries)
    if (e.handle != kNoWaitHandle) handles.push_back(e.handle);
  if (handles.size() > MAXIMUM_WAIT_OBJECTS) return Status::InvalidArgument("more than 64 handles to wait on");
  std::vector<bool> ready(entries.size(), false);
  const DWORD wait_ms =
      timeout.count() < 0 ? INFINITE : static_cast<DWORD>(std::min<long long>(timeout.count(), INFINITE - 1));
  if (handles.empty()) {
    if (wait_ms == INFINITE) return Status::InvalidArgument("nothing to wait on and no time limit");
    Sleep(wait_ms);  // nothing can become ready: only the time passes (WaitAny's contract for no handles)
    return ready;
  }
  const DWORD rc = WaitForMultipleObjects(static_cast<DWORD>(handles.size()), handles.data(), FALSE, wait_ms);
  if (rc == WAIT_TIMEOUT) return ready;
  if (rc == WAIT_FAILED) return Status::IoError("WaitForMultipleObjects: " + platform::ErrorText(GetLastError()));
  // It names the first one signalled; the others are asked too (no handle here is consumed by asking).
  for (size_t i = 0; i < entries.size(); ++i)
    ready[i] = entries[i].handle != kNoWaitHandle && WaitForSingleObject(entries[i].handle, 0) == WAIT_OBJECT_0;
  return ready;
}

WakeEvent::WakeEvent() : handle_(CreateEventW(nullptr, TRUE, FALSE, nullptr)) {}
WakeEvent::~WakeEvent() {
  if (handle_ != nullptr) CloseHandle(handle_);
}
void WakeEvent::Signal() { SetEvent(handle_); }
void WakeEvent::Reset() { ResetEvent(handle_); }

}  // namespace llmdesk::process
