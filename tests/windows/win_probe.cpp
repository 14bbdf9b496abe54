// llmdesk-win-probe — what the Wine tests (tests/windows/*.sh) ask Windows directly, to tell llmdesk's own bugs
// from what Wine does not implement:
//   port-owner PORT   the owner PID GetExtendedTcpTable(TCP_TABLE_OWNER_PID_LISTENER) gives for a listener on
//                     127.0.0.1:PORT, raw: "owner-pid N" (0 = the API does not know), or "no listener" (exit 1)
//   image-of NAME     the PID of a running NAME (Toolhelp32) and its image as net::ProcessCommandLine
//                     (QueryFullProcessImageNameW) names it: "pid N image PATH", or "no process" (exit 1)
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>
#include <tlhelp32.h>

#include <cstdio>
#include <string>
#include <vector>

#include "net/ports.h"
#include "platform/utf16.h"

namespace {

int PortOwner(int port) {
  std::vector<unsigned char> buffer(256 * 1024);
  DWORD size = static_cast<DWORD>(buffer.size());
  if (DWORD rc = GetExtendedTcpTable(buffer.data(), &size, FALSE, AF_INET, TCP_TABLE_OWNER_PID_LISTENER, 0);
      rc != NO_ERROR) {
    std::printf("GetExtendedTcpTable failed: %lu\n", rc);
    return 2;
  }
  const auto* table = reinterpret_cast<const MIB_TCPTABLE_OWNER_PID*>(buffer.data());
  for (DWORD i = 0; i < table->dwNumEntries; ++i) {
    if (ntohs(static_cast<u_short>(table->table[i].dwLocalPort)) != port) continue;
    std::printf("owner-pid %lu\n", table->table[i].dwOwningPid);
    return 0;
  }
  std::printf("no listener\n");
  return 1;
}

int ImageOf(const std::string& name) {
  HANDLE snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snapshot == INVALID_HANDLE_VALUE) return 2;
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof(entry);
  int rc = 1;
  for (BOOL more = Process32FirstW(snapshot, &entry); more; more = Process32NextW(snapshot, &entry)) {
    if (_wcsicmp(entry.szExeFile, llmdesk::platform::Widen(name).c_str()) != 0) continue;
    std::printf("pid %lu image %s\n", entry.th32ProcessID,
                llmdesk::net::ProcessCommandLine(static_cast<pid_t>(entry.th32ProcessID)).c_str());
    rc = 0;
    break;
  }
  CloseHandle(snapshot);
  if (rc) std::printf("no process\n");
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "port-owner" && argc == 3) return PortOwner(std::atoi(argv[2]));
  if (mode == "image-of" && argc == 3) return ImageOf(argv[2]);
  std::fprintf(stderr, "usage: llmdesk-win-probe port-owner PORT | image-of NAME\n");
  return 2;
}
