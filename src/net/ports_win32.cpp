// net/ports.h on Windows: GetExtendedTcpTable / GetExtendedTcp6Table with TCP_TABLE_OWNER_PID_LISTENER give
// every listening socket with its owner's PID at once (what `netstat -ano` shows); QueryFullProcessImageNameW
// names the program. There is no socket inode on Windows: PortHolder::inode stays 0. Another user's elevated
// process may refuse OpenProcess: then the PID is known and the image name is not. An owner PID of 0 (the idle
// process on Windows; what Wine 8 reports for every socket, since wineserver holds the sockets) means "not known":
// the holder is then reported as one llmdesk cannot see, with the netstat advice to find it.
#include "net/ports.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>

#include <vector>

#include "platform/utf16.h"

namespace llmdesk::net {
namespace {

// The OS fills the table; ERROR_INSUFFICIENT_BUFFER says how large it has to be (a listener may appear between
// the two calls: a few retries, then what we have).
std::vector<unsigned char> OwnerPidTable(ULONG family) {
  std::vector<unsigned char> buffer(16 * 1024);
  for (int attempt = 0; attempt < 4; ++attempt) {
    DWORD size = static_cast<DWORD>(buffer.size());
    DWORD rc = GetExtendedTcpTable(buffer.data(), &size, FALSE, family, TCP_TABLE_OWNER_PID_LISTENER, 0);
    if (rc == NO_ERROR) return buffer;
    if (rc != ERROR_INSUFFICIENT_BUFFER) return {};
    buffer.resize(size + 4096);
  }
  return {};
}

std::optional<pid_t> OwnerPid(DWORD owning_pid) {
  if (owning_pid == 0) return std::nullopt;
  return static_cast<pid_t>(owning_pid);
}

std::string AddressText(int family, const void* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(family, address, text, sizeof(text))) return {};
  return text;
}

void AppendIpv4(std::vector<PortHolder>& out) {
  auto buffer = OwnerPidTable(AF_INET);
  if (buffer.empty()) return;
  const auto* table = reinterpret_cast<const MIB_TCPTABLE_OWNER_PID*>(buffer.data());
  for (DWORD i = 0; i < table->dwNumEntries; ++i) {
    const auto& row = table->table[i];
    in_addr address{};
    address.s_addr = row.dwLocalAddr;
    out.push_back(PortHolder{.port = ntohs(static_cast<u_short>(row.dwLocalPort)),
                             .address = AddressText(AF_INET, &address),
                             .pid = OwnerPid(row.dwOwningPid)});
  }
}

void AppendIpv6(std::vector<PortHolder>& out) {
  auto buffer = OwnerPidTable(AF_INET6);
  if (buffer.empty()) return;
  const auto* table = reinterpret_cast<const MIB_TCP6TABLE_OWNER_PID*>(buffer.data());
  for (DWORD i = 0; i < table->dwNumEntries; ++i) {
    const auto& row = table->table[i];
    out.push_back(PortHolder{.port = ntohs(static_cast<u_short>(row.dwLocalPort)),
                             .address = AddressText(AF_INET6, row.ucLocalAddr),
                             .pid = OwnerPid(row.dwOwningPid)});
  }
}

}  // namespace

std::string ProcessCommandLine(pid_t pid) {
  HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, static_cast<DWORD>(pid));
  if (process == nullptr) return {};
  std::wstring image(32768, L'\0');
  DWORD size = static_cast<DWORD>(image.size());
  const bool ok = QueryFullProcessImageNameW(process, 0, image.data(), &size);
  CloseHandle(process);
  if (!ok) return {};
  image.resize(size);
  return platform::Narrow(image);
}

std::string PortHolder::Describe() const {
  if (pid) return "is held by PID " + std::to_string(*pid) + " (" + (command.empty() ? "?" : command) + ")";
  return "is held by a process llmdesk cannot see";
}

std::string PortHolder::HowToFree() const {
  const std::string find = "netstat -ano | findstr :" + std::to_string(port);
  if (pid) return "stop it with: taskkill /PID " + std::to_string(*pid) + " /F (see it with: " + find + ")";
  return "find it with: " + find + ", then stop it with: taskkill /PID <pid> /F";
}

std::vector<PortHolder> ListListeners() {
  std::vector<PortHolder> holders;
  AppendIpv4(holders);
  AppendIpv6(holders);
  for (auto& h : holders)
    if (h.pid) h.command = ProcessCommandLine(*h.pid);
  return holders;
}

std::optional<PortHolder> FindPortHolder(int port) {
  std::vector<PortHolder> holders;
  AppendIpv4(holders);
  AppendIpv6(holders);
  for (auto& h : holders) {
    if (h.port != port) continue;
    if (h.pid) h.command = ProcessCommandLine(*h.pid);
    return h;
  }
  return std::nullopt;
}

}  // namespace llmdesk::net
