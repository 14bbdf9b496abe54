// The Windows side of host_os.h (and UnprivilegedPortStart of port_choice.h).
#include <windows.h>

#include "manager/host_os.h"
#include "manager/port_choice.h"
#include "platform/utf16.h"

namespace llmdesk::manager {

pid_t CurrentPid() { return static_cast<pid_t>(GetCurrentProcessId()); }

bool IsExecutableFile(const std::filesystem::path& path) {
  const DWORD attributes = GetFileAttributesW(path.c_str());
  return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY) == 0;
}

std::string ProcessImagePath(pid_t pid) {
  HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, static_cast<DWORD>(pid));
  if (process == nullptr) return "";
  wchar_t buffer[32768];
  DWORD size = sizeof(buffer) / sizeof(buffer[0]);
  const bool ok = QueryFullProcessImageNameW(process, 0, buffer, &size) != 0;
  CloseHandle(process);
  return ok ? platform::Narrow(std::wstring_view(buffer, size)) : "";
}

bool MayBindPrivilegedPorts() { return true; }

int UnprivilegedPortStart() { return 0; }  // Windows has no privileged ports

}  // namespace llmdesk::manager
