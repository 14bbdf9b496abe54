// The supervisor's waiting on Windows: a manual-reset event to wake it, WaitForMultipleObjects over the
// children's process handles and output events (wait_set.h). WaitForMultipleObjects reports only the lowest
// signalled index, so after it returns the rest of the array is asked again with a zero timeout: every ready
// handle is reported in the same round, and one that stays signalled cannot starve those after it.
#include "manager/wait_set.h"

#include <windows.h>

#include <algorithm>
#include <string>
#include <utility>

#include "platform/utf16.h"

namespace llmdesk::manager {

WakeSignal::WakeSignal() : handle_(CreateEventW(nullptr, TRUE, FALSE, nullptr)) {}
WakeSignal::~WakeSignal() {
  if (handle_ != nullptr) CloseHandle(handle_);
}

void WakeSignal::Set() { SetEvent(handle_); }
void WakeSignal::Clear() { ResetEvent(handle_); }

const size_t WaitSet::kMaxHandles = MAXIMUM_WAIT_OBJECTS;

struct WaitSet::Impl {
  std::vector<HANDLE> handles;  // in the order added; parallel to tags
  std::vector<uint64_t> tags;
};

WaitSet::WaitSet() : impl_(std::make_unique<Impl>()) {}
WaitSet::~WaitSet() = default;

bool WaitSet::valid() const { return true; }

Status WaitSet::Add(process::WaitHandle handle, uint64_t tag) {
  if (handle == nullptr) return Status::InvalidArgument("no handle to wait on");
  if (impl_->handles.size() >= kMaxHandles)
    return Status::FailedPrecondition("the supervisor already waits on " + std::to_string(kMaxHandles) +
                                      " handles, Windows' limit for WaitForMultipleObjects (MAXIMUM_WAIT_OBJECTS)");
  impl_->handles.push_back(handle);
  impl_->tags.push_back(tag);
  return Status::Ok();
}

void WaitSet::Remove(process::WaitHandle handle) {
  auto it = std::find(impl_->handles.begin(), impl_->handles.end(), handle);
  if (it == impl_->handles.end()) return;
  const auto at = it - impl_->handles.begin();
  impl_->handles.erase(it);
  impl_->tags.erase(impl_->tags.begin() + at);
}

Status WaitSet::Wait(std::optional<std::chrono::milliseconds> timeout, std::vector<uint64_t>& ready) {
  const auto& handles = impl_->handles;
  if (handles.empty()) return Status::FailedPrecondition("nothing to wait on");
  DWORD wait_ms = timeout ? static_cast<DWORD>(std::max<long long>(0, timeout->count())) : INFINITE;
  size_t from = 0;
  while (from < handles.size()) {
    const DWORD count = static_cast<DWORD>(handles.size() - from);
    const DWORD r = WaitForMultipleObjects(count, handles.data() + from, FALSE, wait_ms);
    if (r == WAIT_TIMEOUT) break;
    if (r == WAIT_FAILED) {
      if (!ready.empty()) break;  // report what is ready; the next round fails again if the set is broken
      return Status::IoError("WaitForMultipleObjects failed: " + platform::ErrorText(GetLastError()));
    }
    const size_t index = r >= WAIT_ABANDONED_0 && r < WAIT_ABANDONED_0 + count ? r - WAIT_ABANDONED_0 : r - WAIT_OBJECT_0;
    if (index >= count) return Status::IoError("WaitForMultipleObjects returned " + std::to_string(r));
    ready.push_back(impl_->tags[from + index]);
    from += index + 1;
    wait_ms = 0;  // the rest: only what is ready now
  }
  return Status::Ok();
}

}  // namespace llmdesk::manager
