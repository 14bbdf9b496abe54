// llmdesk-win-probe — what the Wine tests (tests/windows/*.sh) ask Windows directly, to tell llmdesk's own bugs
// from what Wine does not implement:
//   port-owner PORT   the owner PID GetExtendedTcpTable(TCP_TABLE_OWNER_PID_LISTENER) gives for a listener on
//                     127.0.0.1:PORT, raw: "owner-pid N" (0 = the API does not know), or "no listener" (exit 1)
//   image-of NAME     the PID of a running NAME (Toolhelp32) and its image as net::ProcessCommandLine
//                     (QueryFullProcessImageNameW) names it: "pid N image PATH", or "no process" (exit 1)
// and process::Child (process/process.h, its Windows side) driven for tests/windows/process_under_wine.sh, waiting
// only on the seam's exit_handle() and output_handle() (WaitForMultipleObjects), as the supervisor will:
//   child             a child to supervise: "child ready PID" on stdout, "child log line" on stderr; on Ctrl+Break
//                     "child got Ctrl+Break" and exit 66; otherwise it waits until it is killed
//   echo-args ARG...  prints its own argv as CommandLineToArgvW splits GetCommandLineW, one "arg[i]=..." per line
//   echo-env          prints %LLMDESK_PROBE% ("env=...") and its working folder ("cwd=...")
//   spawn-stop        spawns `echo-args` with awkward arguments (they must come back exactly); `llmdesk-win-probe
//                     echo-env` found on PATH, with an environment addition and a working folder; then `child`:
//                     reads its output (merged), stops it (Ctrl+Break, 5 s grace, TerminateJobObject) and prints
//                     how it ended
//   spawn-hold        spawns `child` and prints "holding child PID parent PID", then waits for the child
//   gone-within PID MS  waits up to MS on the process handle of PID: "gone" (exit 0) or "alive" (exit 1)
// and the store and models modes of win_probe_stack.cpp ([with-env NAME=VALUE] history-write, history-read ID,
// gguf PATH, pull URL).
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>
#include <tlhelp32.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <shellapi.h>

#include "net/ports.h"
#include "platform/utf16.h"
#include "platform/user_dirs.h"
#include "process/process.h"

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

using llmdesk::process::Child;
using llmdesk::process::ExitStatus;

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

int ChildMode() {
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

int EchoEnv() {  // the environment variable and the folder a Child was given (SpawnSpec::env, working_dir)
  const wchar_t* value = _wgetenv(L"LLMDESK_PROBE");
  std::wstring dir(32768, L'\0');
  dir.resize(GetCurrentDirectoryW(static_cast<DWORD>(dir.size()), dir.data()));
  std::printf("env=%s\ncwd=%s\n", value ? llmdesk::platform::Narrow(value).c_str() : "(unset)",
              llmdesk::platform::Narrow(dir).c_str());
  return 0;
}

// Runs `child` as a supervisor would, on the seam alone: waits (WaitForMultipleObjects) on exit_handle() and
// output_handle() with the kill deadline as the timeout, reads lines when the output is ready, returns the exit once
// reaped with the output at EOF. Stops early when `until` is true of the lines so far. Bounded: 60 s without news
// is a failure (nullopt), so a handle that is never signalled cannot hang the test.
std::optional<ExitStatus> Supervise(Child& child, std::vector<std::string>& lines,
                                    const std::function<bool()>& until = {}) {
  using Clock = std::chrono::steady_clock;
  while (true) {
    if (child.output_open() && !child.ReadOutput([&](std::string_view l) { lines.emplace_back(l); }))
      child.CloseOutput();
    if (until && until()) return std::nullopt;
    auto exit = child.TryReap();
    if (exit && !child.output_open()) return exit;
    child.KillIfOverdue(Clock::now());
    HANDLE handles[2];
    DWORD count = 0;
    if (!exit) handles[count++] = child.exit_handle();  // stays signalled once exited: wait on it until reaped
    if (child.output_open()) handles[count++] = child.output_handle();
    DWORD timeout = 60000;
    if (auto due = child.NextDeadline()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*due - Clock::now()).count();
      timeout = static_cast<DWORD>(std::clamp<long long>(left, 0, 60000));
    }
    if (WaitForMultipleObjects(count, handles, FALSE, timeout) == WAIT_TIMEOUT && !child.NextDeadline()) {
      std::printf("nothing signalled in 60 s (exit or output handle never ready)\n");
      return std::nullopt;
    }
  }
}

std::unique_ptr<Child> SpawnOrSay(llmdesk::process::SpawnSpec spec) {
  auto child = Child::Spawn(spec);
  if (!child.ok()) std::printf("spawn %s failed: %s\n", spec.argv[0].c_str(), child.status().ToString().c_str());
  return child.ok() ? std::move(child).value() : nullptr;
}

int SpawnStop() {
  const std::vector<std::string> awkward = {"", "a b", "say \"hi\"", "C:\\my dir\\", "x\\\\\"y",
                                            "%PATH%&|<>^", "J\xc3\xb6rg"};
  std::vector<std::string> argv = {SelfPath(), "echo-args"};
  argv.insert(argv.end(), awkward.begin(), awkward.end());
  auto echo = SpawnOrSay({.argv = argv});
  if (!echo) return 1;
  std::vector<std::string> out;
  auto echo_exit = Supervise(*echo, out);
  bool same = echo_exit && out.size() == awkward.size();
  for (size_t i = 0; same && i < awkward.size(); ++i) same = out[i] == "arg[" + std::to_string(i) + "]=" + awkward[i];
  std::printf("argv round trip: %s\n", same ? "exact" : "DIFFERENT");
  for (const auto& l : out) std::printf("  %s\n", l.c_str());

  // PATH lookup (argv[0] without a folder or .exe), the environment addition and the working folder.
  const std::string self = SelfPath();
  const std::string dir = self.substr(0, self.find_last_of('\\'));
  _wputenv(llmdesk::platform::Widen("PATH=" + dir).c_str());  // the CRT's copy, which FindProgram's PATH reads
  auto env = SpawnOrSay({.argv = {"llmdesk-win-probe", "echo-env"},
                         .env = {{"LLMDESK_PROBE", "J\xc3\xb6rg"}},
                         .working_dir = llmdesk::platform::PathFromUtf8("C:\\windows")});
  if (!env) return 1;
  out.clear();
  if (auto exit = Supervise(*env, out)) std::printf("echo-env %s\n", exit->ToString().c_str());
  for (const auto& l : out) std::printf("echo-env: %s\n", l.c_str());

  auto child = SpawnOrSay({.argv = {SelfPath(), "child"}});
  if (!child) return 1;
  out.clear();
  // Its output handle must wake us for the ready line: the child then waits forever, so only the pipe can.
  Supervise(*child, out, [&] { return out.size() >= 2; });
  std::printf("start time while running: %s\n", llmdesk::process::ProcessStartTime(child->pid()) ? "yes" : "none");
  child->Terminate(std::chrono::seconds(5));
  if (!child->ctrl_break_error().empty()) std::printf("stop: %s\n", child->ctrl_break_error().c_str());
  auto exit = Supervise(*child, out);
  for (const auto& l : out) std::printf("output: %s\n", l.c_str());
  std::printf("child %s, abnormal: %s\n", exit ? exit->ToString().c_str() : "did not end",
              exit && exit->abnormal() ? "yes" : "no");
  std::printf("start time after exit: %s\n", llmdesk::process::ProcessStartTime(child->pid()) ? "yes" : "none");
  return same ? 0 : 1;
}

int SpawnHold() {
  auto child = SpawnOrSay({.argv = {SelfPath(), "child"}});
  if (!child) return 1;
  std::printf("holding child %lld parent %lu\n", static_cast<long long>(child->pid()), GetCurrentProcessId());
  std::fflush(stdout);
  WaitForSingleObject(child->exit_handle(), INFINITE);
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

int StackProbeMain(const std::string& mode);  // win_probe_stack.cpp: the store and models modes

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (int rc = StackProbeMain(mode); rc >= 0) return rc;
  if (mode == "port-owner" && argc == 3) return PortOwner(std::atoi(argv[2]));
  if (mode == "image-of" && argc == 3) return ImageOf(argv[2]);
  if (mode == "child") return ChildMode();
  if (mode == "echo-env") return EchoEnv();
  if (mode == "echo-args") return EchoArgs();
  if (mode == "spawn-stop") return SpawnStop();
  if (mode == "spawn-hold") return SpawnHold();
  if (mode == "gone-within" && argc == 4) return GoneWithin(std::strtoul(argv[2], nullptr, 10), std::strtoul(argv[3], nullptr, 10));
  std::fprintf(stderr, "usage: llmdesk-win-probe port-owner PORT | image-of NAME | child | echo-args ARG... | "
                       "echo-env | spawn-stop | spawn-hold | gone-within PID MS\n");
  return 2;
}
