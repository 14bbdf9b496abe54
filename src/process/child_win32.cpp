// process/process.h's Child on Windows: CreateProcessW into a kill-on-close Job Object, the output on an overlapped
// pipe (waitable), Ctrl+Break then TerminateJobObject, exit by process handle. ProcessStartTime by GetProcessTimes.
#include <windows.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "platform/random.h"
#include "platform/user_dirs.h"
#include "platform/utf16.h"
#include "process/command_line.h"
#include "process/line_splitter.h"
#include "process/process.h"

namespace llmdesk::process {
namespace {

constexpr DWORD kKilledExitCode = 0xC000013A;  // STATUS_CONTROL_C_EXIT, what Windows uses for Ctrl+C
constexpr size_t kMaxReadPerCall = 1 << 20;    // as on POSIX: one chatty child never starves the loop

Status LastErrorStatus(const std::string& what) {
  const DWORD code = GetLastError();
  const std::string text = what + ": " + platform::ErrorText(code);
  if (code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND) return Status::NotFound(text);
  return Status::IoError(text);
}

// Owns the handles Spawn makes until the Child takes them (any early return closes them).
struct SpawnHandles {
  HANDLE job = nullptr, process = nullptr, thread = nullptr, out_read = nullptr, out_write = nullptr, nul = nullptr;
  std::vector<unsigned char> attribute_storage;
  LPPROC_THREAD_ATTRIBUTE_LIST attributes = nullptr;
  ~SpawnHandles() {
    if (attributes) DeleteProcThreadAttributeList(attributes);
    for (HANDLE h : {job, process, thread, out_read, out_write, nul})
      if (h != nullptr && h != INVALID_HANDLE_VALUE) CloseHandle(h);
  }
};

// An anonymous pipe cannot be read overlapped (so it cannot be waited on): the output pipe is a one-instance named
// pipe with a random name, inbound, local clients only. Our end reads overlapped; the child's end is inheritable.
bool OutputPipe(HANDLE& read_end, HANDLE& write_end) {
  unsigned char random[8];
  platform::FillRandom(random, sizeof(random));
  wchar_t name[96];
  std::swprintf(name, 96, L"\\\\.\\pipe\\llmdesk-%lu-%02x%02x%02x%02x%02x%02x%02x%02x", GetCurrentProcessId(),
                random[0], random[1], random[2], random[3], random[4], random[5], random[6], random[7]);
  read_end = CreateNamedPipeW(name, PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                              PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 0,
                              64 * 1024, 0, nullptr);
  if (read_end == INVALID_HANDLE_VALUE) {
    read_end = nullptr;
    return false;
  }
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  write_end = CreateFileW(name, GENERIC_WRITE, 0, &inherit, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (write_end == INVALID_HANDLE_VALUE) {
    write_end = nullptr;
    return false;
  }
  return true;
}

// Windows compares environment names without case.
bool SameName(std::wstring_view a, std::wstring_view b) {
  return CompareStringOrdinal(a.data(), static_cast<int>(a.size()), b.data(), static_cast<int>(b.size()), TRUE) ==
         CSTR_EQUAL;
}

// Our environment with each KEY of `additions` replaced (or added): a CREATE_UNICODE_ENVIRONMENT block.
std::wstring EnvironmentBlock(const std::map<std::string, std::string>& additions) {
  std::vector<std::pair<std::wstring, std::wstring>> added;
  for (const auto& [key, value] : additions) added.emplace_back(platform::Widen(key), platform::Widen(value));
  std::wstring block;
  if (wchar_t* ours = GetEnvironmentStringsW()) {
    for (const wchar_t* entry = ours; *entry; entry += wcslen(entry) + 1) {
      std::wstring_view text(entry);
      const size_t eq = text.find(L'=', 1);  // "=C:=C:\dir" entries start with '='
      const std::wstring_view name = text.substr(0, eq);
      if (std::any_of(added.begin(), added.end(), [&](const auto& a) { return SameName(a.first, name); })) continue;
      block.append(text).push_back(L'\0');
    }
    FreeEnvironmentStringsW(ours);
  }
  for (const auto& [key, value] : added) block.append(key).append(L"=").append(value).push_back(L'\0');
  block.push_back(L'\0');
  return block;
}

const char* KnownStatus(unsigned long code) {
  switch (code) {
    case 0xC0000005: return "access violation";
    case 0xC000001D: return "illegal instruction";
    case 0xC0000094: return "integer division by zero";
    case 0xC00000FD: return "stack overflow";
    case 0xC0000409: return "fail fast: stack buffer overrun or abort";
    case 0xC0000135: return "a DLL was not found";
    case 0xC000013A: return "Ctrl+C, Ctrl+Break or ended by llmdesk";
    default: return nullptr;
  }
}

}  // namespace

// The handles of one child. The overlapped read's buffer and OVERLAPPED live here, at a fixed address, until the
// read is cancelled and finished (CloseOutput / the destructor).
struct Child::Win32 {
  HANDLE process = nullptr;
  HANDLE job = nullptr;
  HANDLE output = nullptr;       // our end of the output pipe
  HANDLE output_event = nullptr;  // manual reset; signalled when the pending read completed
  OVERLAPPED overlapped{};
  bool read_pending = false;
  bool output_eof = false;
  std::string partial;
  std::string ctrl_break_error;
  char buffer[64 * 1024];

  void CloseOutput() {
    if (output != nullptr && read_pending) {
      DWORD ignored = 0;
      CancelIoEx(output, &overlapped);
      GetOverlappedResult(output, &overlapped, &ignored, TRUE);  // the buffer is free only once the read is done
      read_pending = false;
    }
    for (HANDLE* h : {&output, &output_event})
      if (*h != nullptr) CloseHandle(std::exchange(*h, nullptr));
  }
  ~Win32() {
    CloseOutput();
    for (HANDLE h : {process, job})  // closing the job kills whatever is left in it (KILL_ON_JOB_CLOSE)
      if (h != nullptr) CloseHandle(h);
  }
};

bool ExitStatus::abnormal() const {
  return signal != 0 || (static_cast<unsigned long>(static_cast<unsigned int>(code)) & 0xC0000000UL) == 0xC0000000UL;
}

std::string ExitStatus::ToString() const {
  if (!abnormal()) return "exited with code " + std::to_string(code);
  const unsigned long status = static_cast<unsigned int>(code);
  char hex[16];
  std::snprintf(hex, sizeof(hex), "0x%08lX", status);
  const char* known = KnownStatus(status);
  return std::string("ended with status ") + hex + (known ? std::string(" (") + known + ")" : "");
}

Result<std::unique_ptr<Child>> Child::Spawn(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) return Status::InvalidArgument("no program to start");
  if (spec.stdio == SpawnSpec::Stdio::kPipes)
    return Status::FailedPrecondition("cannot start " + spec.argv[0] +
                                      " with stdin/stdout/stderr pipes: not on Windows yet (docs/WINDOWS.md)");
  auto found = FindProgram(spec.argv[0], platform::ProcessEnvValue("PATH").value_or(""));
  if (!found) return Status::NotFound("cannot start " + spec.argv[0] + ": no such program (.exe)");
  auto command_line = QuoteWindowsCommandLine(spec.argv);
  if (!command_line.ok()) return command_line.status();
  const std::string& name = spec.argv[0];
  SpawnHandles h;

  h.job = CreateJobObjectW(nullptr, nullptr);  // not inheritable: only this process holds it
  if (h.job == nullptr) return LastErrorStatus("cannot create a job object for " + name);
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (!SetInformationJobObject(h.job, JobObjectExtendedLimitInformation, &limits, sizeof(limits)))
    return LastErrorStatus("cannot make the job of " + name + " kill on close");
  if (!OutputPipe(h.out_read, h.out_write)) return LastErrorStatus("cannot create the output pipe of " + name);
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  h.nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit, OPEN_EXISTING, 0, nullptr);
  if (h.nul == INVALID_HANDLE_VALUE) return LastErrorStatus("cannot open NUL for the stdin of " + name);

  // Exactly these handles are inherited, whatever else is inheritable in this process right now.
  SIZE_T size = 0;
  InitializeProcThreadAttributeList(nullptr, 1, 0, &size);
  h.attribute_storage.resize(size);
  auto* attributes = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(h.attribute_storage.data());
  if (!InitializeProcThreadAttributeList(attributes, 1, 0, &size))
    return LastErrorStatus("cannot prepare the start of " + name);
  h.attributes = attributes;
  HANDLE inherited[2] = {h.nul, h.out_write};
  if (!UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherited, sizeof(inherited),
                                 nullptr, nullptr))
    return LastErrorStatus("cannot limit the handles " + name + " inherits");

  STARTUPINFOEXW startup{};
  startup.StartupInfo.cb = sizeof(startup);
  startup.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  startup.StartupInfo.hStdInput = h.nul;
  startup.StartupInfo.hStdOutput = h.out_write;  // stdout and stderr interleaved, as kMergedOutput says
  startup.StartupInfo.hStdError = h.out_write;
  startup.lpAttributeList = attributes;
  const std::wstring application = found->wstring();
  std::wstring line = platform::Widen(*command_line);  // CreateProcessW may write into it
  std::wstring environment;
  if (!spec.env.empty()) environment = EnvironmentBlock(spec.env);
  const std::wstring working_dir = spec.working_dir.wstring();
  PROCESS_INFORMATION info{};
  // The program is named explicitly (lpApplicationName): Windows never guesses it from a split of the line.
  if (!CreateProcessW(application.c_str(), line.data(), nullptr, nullptr, TRUE,
                      CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP | CREATE_UNICODE_ENVIRONMENT |
                          EXTENDED_STARTUPINFO_PRESENT,
                      environment.empty() ? nullptr : environment.data(),
                      working_dir.empty() ? nullptr : working_dir.c_str(), &startup.StartupInfo, &info))
    return LastErrorStatus("cannot start " + name);
  h.process = info.hProcess;
  h.thread = info.hThread;
  if (!AssignProcessToJobObject(h.job, h.process)) {
    Status failed = LastErrorStatus("cannot put " + name + " in its job object");
    TerminateProcess(h.process, kKilledExitCode);  // suspended: it never ran
    return failed;
  }
  if (ResumeThread(h.thread) == static_cast<DWORD>(-1)) {
    Status failed = LastErrorStatus("cannot resume " + name);
    TerminateJobObject(h.job, kKilledExitCode);
    return failed;
  }

  std::unique_ptr<Child> child(new Child());
  child->win32_ = std::make_unique<Win32>();
  Win32& w = *child->win32_;
  child->pid_ = static_cast<pid_t>(info.dwProcessId);
  child->started_ = std::chrono::steady_clock::now();
  w.process = std::exchange(h.process, nullptr);
  w.job = std::exchange(h.job, nullptr);
  w.output = std::exchange(h.out_read, nullptr);
  // Signalled from the start: the first ReadOutput starts the first read. ReadFile resets it when a read begins.
  w.output_event = CreateEventW(nullptr, TRUE, TRUE, nullptr);
  if (w.output_event == nullptr) return LastErrorStatus("cannot create the output event of " + name);
  w.overlapped.hEvent = w.output_event;
  return child;  // h closes the thread handle, the child's pipe end and NUL: the child holds its own copies
}

Child::~Child() {
  if (win32_ && !TryReap() && win32_->job) TerminateJobObject(win32_->job, kKilledExitCode);
}  // ~Win32 closes the job too: anything the child started and left behind goes with it

WaitHandle Child::exit_handle() const { return win32_->process; }
WaitHandle Child::output_handle() const { return win32_->output_event; }
const std::string& Child::ctrl_break_error() const { return win32_->ctrl_break_error; }

bool Child::ReadOutput(const std::function<void(std::string_view)>& on_line) {
  Win32& w = *win32_;
  if (w.output == nullptr || w.output_eof) return false;
  size_t total = 0;
  while (total < kMaxReadPerCall) {
    if (!w.read_pending) {
      // Completes now or later; either way the event is set on completion and GetOverlappedResult reports it.
      if (!ReadFile(w.output, w.buffer, sizeof(w.buffer), nullptr, &w.overlapped) &&
          GetLastError() != ERROR_IO_PENDING) {
        w.output_eof = true;  // ERROR_BROKEN_PIPE: the child and every copy of its end are gone
        break;
      }
      w.read_pending = true;
    }
    DWORD got = 0;
    if (!GetOverlappedResult(w.output, &w.overlapped, &got, FALSE)) {
      if (GetLastError() == ERROR_IO_INCOMPLETE) return true;  // nothing more now: the event is reset until then
      w.read_pending = false;
      w.output_eof = true;
      break;
    }
    w.read_pending = false;
    w.partial.append(w.buffer, got);
    total += got;
    TakeLines(w.partial, false, on_line);
  }
  if (!w.output_eof) return true;  // stopped at kMaxReadPerCall: the event stays set, the loop comes back
  TakeLines(w.partial, true, on_line);
  return false;
}

void Child::CloseOutput() { win32_->CloseOutput(); }
bool Child::ReadErrors(const std::function<void(std::string_view)>&) { return false; }  // kMergedOutput only
void Child::CloseErrors() {}

Result<size_t> Child::WriteStdin(std::string_view) {
  return Status::FailedPrecondition("this process has no stdin pipe (not on Windows yet)");
}
void Child::CloseStdin() {}

std::optional<ExitStatus> Child::TryReap() {
  if (exit_) return exit_;
  if (WaitForSingleObject(win32_->process, 0) != WAIT_OBJECT_0) return std::nullopt;
  DWORD code = 0;
  GetExitCodeProcess(win32_->process, &code);
  exit_ = ExitStatus{static_cast<int>(code), 0};
  kill_at_.reset();
  return exit_;
}

void Child::Terminate(std::chrono::milliseconds grace) {
  if (TryReap()) return;
  if (grace.count() <= 0) return Kill();
  // The group id of a CREATE_NEW_PROCESS_GROUP child is its PID. Ctrl+C cannot be sent to a group, only Ctrl+Break.
  win32_->ctrl_break_error.clear();
  if (!GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, static_cast<DWORD>(pid_))) {
    win32_->ctrl_break_error = "CTRL_BREAK_EVENT not sent: " + platform::ErrorText(GetLastError());
    grace = std::chrono::milliseconds(0);
  }
  const auto due = std::chrono::steady_clock::now() + grace;
  if (!kill_at_ || due < *kill_at_) kill_at_ = due;
}

void Child::Kill() {
  kill_at_.reset();
  if (TryReap()) return;
  TerminateJobObject(win32_->job, kKilledExitCode);
}

std::optional<std::chrono::steady_clock::time_point> Child::NextDeadline() const {
  return exit_ ? std::nullopt : kill_at_;
}

void Child::KillIfOverdue(std::chrono::steady_clock::time_point now) {
  if (kill_at_ && now >= *kill_at_) Kill();
}

std::optional<unsigned long long> ProcessStartTime(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE, static_cast<DWORD>(pid));
  if (process == nullptr) return std::nullopt;
  FILETIME created{}, exited{}, kernel{}, user{};
  DWORD code = 0;
  const bool running = GetExitCodeProcess(process, &code) && code == STILL_ACTIVE &&
                       WaitForSingleObject(process, 0) == WAIT_TIMEOUT;  // an exit code 259 is not "running"
  const bool timed = GetProcessTimes(process, &created, &exited, &kernel, &user) != 0;
  CloseHandle(process);
  if (!running || !timed) return std::nullopt;
  return (static_cast<unsigned long long>(created.dwHighDateTime) << 32) | created.dwLowDateTime;
}

}  // namespace llmdesk::process
