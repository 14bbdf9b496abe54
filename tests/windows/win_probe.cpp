// llmdesk-win-probe — what the Wine tests (tests/windows/*.sh) ask Windows directly, to tell llmdesk's own bugs
// from what Wine does not implement:
//   port-owner PORT   the owner PID GetExtendedTcpTable(TCP_TABLE_OWNER_PID_LISTENER) gives for a listener on
//                     127.0.0.1:PORT, raw: "owner-pid N" (0 = the API does not know), or "no listener" (exit 1)
//   image-of NAME     the PID of a running NAME (Toolhelp32) and its image as net::ProcessCommandLine
//                     (QueryFullProcessImageNameW) names it: "pid N image PATH", or "no process" (exit 1)
// and process::Win32Child (process/win32_child.h) driven for tests/windows/process_under_wine.sh:
//   child             a child to supervise: "child ready PID" on stdout, "child log line" on stderr; on Ctrl+Break
//                     "child got Ctrl+Break" and exit 66; otherwise it waits until it is killed
//   echo-args ARG...  prints its own argv as CommandLineToArgvW splits GetCommandLineW, one "arg[i]=..." per line
//   spawn-stop        spawns `echo-args` with awkward arguments (they must come back exactly), then `child`, reads
//                     both pipes, stops it (Ctrl+Break, 5 s grace, TerminateJobObject) and prints how it ended
//   spawn-hold        spawns `child` and prints "holding child PID parent PID", then waits for the child
//   gone-within PID MS  waits up to MS on the process handle of PID: "gone" (exit 0) or "alive" (exit 1)
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>
#include <tlhelp32.h>

#include <cstdio>
#include <string>
#include <vector>

#include <shellapi.h>

#include "net/ports.h"
#include "platform/utf16.h"
#include "process/win32_child.h"

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

using llmdesk::process::Win32Child;

std::string SelfPath() {
  std::wstring path(32768, L'\0');
  path.resize(GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size())));
  return llmdesk::platform::Narrow(path);
}

BOOL WINAPI OnCtrlBreak(DWORD type) {
  if (type != CTRL_BREAK_EVENT) return FALSE;
  std::printf("child got Ctrl+Break\n");
  std::fflush(stdout);
  ExitProcess(66);
}

int Child() {
  SetConsoleCtrlHandler(OnCtrlBreak, TRUE);
  std::printf("child ready %lu\n", GetCurrentProcessId());
  std::fflush(stdout);
  std::fprintf(stderr, "child log line\n");
  std::fflush(stderr);
  HANDLE never = CreateEventW(nullptr, TRUE, FALSE, nullptr);  // nobody sets it: the child lives until stopped
  WaitForSingleObject(never, INFINITE);
  return 0;
}

int EchoArgs() {
  int count = 0;
  wchar_t** args = CommandLineToArgvW(GetCommandLineW(), &count);
  for (int i = 2; i < count; ++i) std::printf("arg[%d]=%s\n", i - 2, llmdesk::platform::Narrow(args[i]).c_str());
  LocalFree(args);
  return 0;
}

// Reads both pipes until the process handle is signalled and the pipes are at EOF, applying the kill deadline.
llmdesk::process::Win32Exit Drain(Win32Child& child, std::vector<std::string>& out, std::vector<std::string>& err) {
  bool out_open = true, err_open = true;
  while (true) {
    out_open = out_open && child.ReadOutput([&](std::string_view l) { out.emplace_back(l); });
    err_open = err_open && child.ReadErrors([&](std::string_view l) { err.emplace_back(l); });
    if (auto exit = child.TryReap(); exit && !out_open && !err_open) return *exit;
    child.KillIfOverdue(std::chrono::steady_clock::now());
    // Anonymous pipes are not waitable: wake on the process handle, at most 50 ms apart to read the pipes.
    WaitForSingleObject(child.process_handle(), 50);
  }
}

int SpawnStop() {
  const std::vector<std::string> awkward = {"", "a b", "say \"hi\"", "C:\\my dir\\", "x\\\\\"y",
                                            "%PATH%&|<>^", "J\xc3\xb6rg"};
  std::vector<std::string> argv = {SelfPath(), "echo-args"};
  argv.insert(argv.end(), awkward.begin(), awkward.end());
  auto echo = Win32Child::Spawn(argv);
  if (!echo.ok()) return std::printf("spawn echo-args failed: %s\n", echo.status().ToString().c_str()), 1;
  std::vector<std::string> out, err;
  Drain(**echo, out, err);
  bool same = out.size() == awkward.size();
  for (size_t i = 0; same && i < awkward.size(); ++i) same = out[i] == "arg[" + std::to_string(i) + "]=" + awkward[i];
  std::printf("argv round trip: %s\n", same ? "exact" : "DIFFERENT");
  for (const auto& l : out) std::printf("  %s\n", l.c_str());

  auto child = Win32Child::Spawn({SelfPath(), "child"});
  if (!child.ok()) return std::printf("spawn child failed: %s\n", child.status().ToString().c_str()), 1;
  out.clear();
  err.clear();
  // Wait (bounded by the process handle) for the ready line before stopping it.
  for (int i = 0; i < 600 && out.empty(); ++i) {
    (*child)->ReadOutput([&](std::string_view l) { out.emplace_back(l); });
    if (out.empty()) WaitForSingleObject((*child)->process_handle(), 50);
  }
  (*child)->Terminate(std::chrono::seconds(5));
  if (!(*child)->ctrl_break_error().empty()) std::printf("stop: %s\n", (*child)->ctrl_break_error().c_str());
  auto exit = Drain(**child, out, err);
  for (const auto& l : out) std::printf("stdout: %s\n", l.c_str());
  for (const auto& l : err) std::printf("stderr: %s\n", l.c_str());
  std::printf("child ended: code %lu, %s\n", exit.code, exit.killed ? "killed by TerminateJobObject" : "exited");
  return same ? 0 : 1;
}

int SpawnHold() {
  auto child = Win32Child::Spawn({SelfPath(), "child"});
  if (!child.ok()) return std::printf("spawn child failed: %s\n", child.status().ToString().c_str()), 1;
  std::printf("holding child %lu parent %lu\n", (*child)->pid(), GetCurrentProcessId());
  std::fflush(stdout);
  WaitForSingleObject((*child)->process_handle(), INFINITE);
  std::printf("child ended while held\n");
  return 1;
}

int GoneWithin(unsigned long pid, unsigned long ms) {
  HANDLE process = OpenProcess(SYNCHRONIZE, FALSE, pid);
  if (process == nullptr) return std::printf("gone\n"), 0;  // no such process any more
  const bool gone = WaitForSingleObject(process, ms) == WAIT_OBJECT_0;
  CloseHandle(process);
  std::printf(gone ? "gone\n" : "alive\n");
  return gone ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "port-owner" && argc == 3) return PortOwner(std::atoi(argv[2]));
  if (mode == "image-of" && argc == 3) return ImageOf(argv[2]);
  if (mode == "child") return Child();
  if (mode == "echo-args") return EchoArgs();
  if (mode == "spawn-stop") return SpawnStop();
  if (mode == "spawn-hold") return SpawnHold();
  if (mode == "gone-within" && argc == 4) return GoneWithin(std::strtoul(argv[2], nullptr, 10), std::strtoul(argv[3], nullptr, 10));
  std::fprintf(stderr, "usage: llmdesk-win-probe port-owner PORT | image-of NAME | child | echo-args ARG... | "
                       "spawn-stop | spawn-hold | gone-within PID MS\n");
  return 2;
}
