// process/win32_child.h: CreateProcessW into a kill-on-close Job Object, pipes, Ctrl+Break then TerminateJobObject.
#include "process/win32_child.h"

#include <windows.h>

#include <algorithm>
#include <utility>

#include "process/command_line.h"
#include "platform/utf16.h"

namespace llmdesk::process {
namespace {

constexpr size_t kMaxLine = 16 * 1024;  // as process.h's Child: a longer line is cut there

Status LastErrorStatus(const std::string& what) {
  const DWORD code = GetLastError();
  const std::string text = what + ": " + platform::ErrorText(code);
  if (code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND) return Status::NotFound(text);
  return Status::IoError(text);
}

// Owns the handles Spawn makes until the Win32Child takes them (any early return closes them).
struct Handles {
  HANDLE job = nullptr, process = nullptr, thread = nullptr;
  HANDLE out_read = nullptr, out_write = nullptr, err_read = nullptr, err_write = nullptr, nul = nullptr;
  LPPROC_THREAD_ATTRIBUTE_LIST attributes = nullptr;
  std::vector<unsigned char> attribute_storage;
  ~Handles() {
    if (attributes) DeleteProcThreadAttributeList(attributes);
    for (HANDLE h : {job, process, thread, out_read, out_write, err_read, err_write, nul})
      if (h != nullptr && h != INVALID_HANDLE_VALUE) CloseHandle(h);
  }
};

// A pipe whose write end the child inherits and whose read end stays ours.
bool ChildWritePipe(HANDLE& read_end, HANDLE& write_end) {
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  if (!CreatePipe(&read_end, &write_end, &inherit, 0)) return false;
  return SetHandleInformation(read_end, HANDLE_FLAG_INHERIT, 0) != 0;
}

}  // namespace

Result<std::unique_ptr<Win32Child>> Win32Child::Spawn(const std::vector<std::string>& argv) {
  auto command_line = QuoteWindowsCommandLine(argv);
  if (!command_line.ok()) return command_line.status();
  Handles h;

  h.job = CreateJobObjectW(nullptr, nullptr);  // not inheritable: only this process holds it
  if (h.job == nullptr) return LastErrorStatus("cannot create a job object for " + argv[0]);
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (!SetInformationJobObject(h.job, JobObjectExtendedLimitInformation, &limits, sizeof(limits)))
    return LastErrorStatus("cannot make the job of " + argv[0] + " kill on close");

  if (!ChildWritePipe(h.out_read, h.out_write) || !ChildWritePipe(h.err_read, h.err_write))
    return LastErrorStatus("cannot create the output pipes of " + argv[0]);
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  h.nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit, OPEN_EXISTING, 0, nullptr);
  if (h.nul == INVALID_HANDLE_VALUE) return LastErrorStatus("cannot open NUL for the stdin of " + argv[0]);

  // Exactly these three handles are inherited, whatever else is inheritable in this process right now.
  SIZE_T size = 0;
  InitializeProcThreadAttributeList(nullptr, 1, 0, &size);
  h.attribute_storage.resize(size);
  auto* attributes = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(h.attribute_storage.data());
  if (!InitializeProcThreadAttributeList(attributes, 1, 0, &size))
    return LastErrorStatus("cannot prepare the start of " + argv[0]);
  h.attributes = attributes;
  HANDLE inherited[3] = {h.nul, h.out_write, h.err_write};
  if (!UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherited, sizeof(inherited),
                                 nullptr, nullptr))
    return LastErrorStatus("cannot limit the handles " + argv[0] + " inherits");

  STARTUPINFOEXW startup{};
  startup.StartupInfo.cb = sizeof(startup);
  startup.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  startup.StartupInfo.hStdInput = h.nul;
  startup.StartupInfo.hStdOutput = h.out_write;
  startup.StartupInfo.hStdError = h.err_write;
  startup.lpAttributeList = attributes;
  std::wstring application = platform::Widen(argv[0]);
  std::wstring line = platform::Widen(*command_line);  // CreateProcessW may write into it
  PROCESS_INFORMATION info{};
  // The program is named explicitly (lpApplicationName): Windows never guesses it from a split of the line.
  if (!CreateProcessW(application.c_str(), line.data(), nullptr, nullptr, TRUE,
                      CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP | CREATE_UNICODE_ENVIRONMENT |
                          EXTENDED_STARTUPINFO_PRESENT,
                      nullptr, nullptr, &startup.StartupInfo, &info))
    return LastErrorStatus("cannot start " + argv[0]);
  h.process = info.hProcess;
  h.thread = info.hThread;
  if (!AssignProcessToJobObject(h.job, h.process)) {
    Status failed = LastErrorStatus("cannot put " + argv[0] + " in its job object");
    TerminateProcess(h.process, kKilledExitCode);  // suspended: it never ran
    return failed;
  }
  if (ResumeThread(h.thread) == static_cast<DWORD>(-1)) {
    Status failed = LastErrorStatus("cannot resume " + argv[0]);
    TerminateJobObject(h.job, kKilledExitCode);
    return failed;
  }

  std::unique_ptr<Win32Child> child(new Win32Child());
  child->pid_ = info.dwProcessId;
  child->process_ = std::exchange(h.process, nullptr);
  child->job_ = std::exchange(h.job, nullptr);
  child->stdout_.handle = std::exchange(h.out_read, nullptr);
  child->stderr_.handle = std::exchange(h.err_read, nullptr);
  return child;  // h closes the thread handle, the child's pipe ends and NUL: the child holds its own copies
}

Win32Child::~Win32Child() {
  if (!TryReap() && job_) TerminateJobObject(job_, kKilledExitCode);
  for (void* handle : {process_, job_, stdout_.handle, stderr_.handle})
    if (handle) CloseHandle(handle);
}

bool Win32Child::ReadLines(LinePipe& pipe, const std::function<void(std::string_view)>& on_line) {
  if (pipe.eof || pipe.handle == nullptr) return false;
  char buffer[4096];
  while (true) {
    DWORD available = 0;
    if (!PeekNamedPipe(pipe.handle, nullptr, 0, nullptr, &available, nullptr)) {
      pipe.eof = true;  // ERROR_BROKEN_PIPE: the child and every copy of the write end are gone
      break;
    }
    if (available == 0) return true;
    DWORD got = 0;
    if (!ReadFile(pipe.handle, buffer, std::min<DWORD>(available, sizeof(buffer)), &got, nullptr) || got == 0) {
      pipe.eof = true;
      break;
    }
    pipe.partial.append(buffer, got);
    size_t start = 0;
    for (size_t nl; (nl = pipe.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view one(pipe.partial.data() + start, nl - start);
      if (!one.empty() && one.back() == '\r') one.remove_suffix(1);
      on_line(one.substr(0, kMaxLine));
    }
    pipe.partial.erase(0, start);
    if (pipe.partial.size() > kMaxLine) {
      on_line(std::string_view(pipe.partial).substr(0, kMaxLine));
      pipe.partial.clear();
    }
  }
  if (!pipe.partial.empty()) on_line(pipe.partial);
  pipe.partial.clear();
  return false;
}

bool Win32Child::ReadOutput(const std::function<void(std::string_view)>& on_line) { return ReadLines(stdout_, on_line); }

bool Win32Child::ReadErrors(const std::function<void(std::string_view)>& on_line) { return ReadLines(stderr_, on_line); }

std::optional<Win32Exit> Win32Child::TryReap() {
  if (exit_) return exit_;
  if (process_ == nullptr || WaitForSingleObject(process_, 0) != WAIT_OBJECT_0) return std::nullopt;
  DWORD code = 0;
  GetExitCodeProcess(process_, &code);
  exit_ = Win32Exit{code, killed_};
  kill_at_.reset();
  return exit_;
}

void Win32Child::Terminate(std::chrono::milliseconds grace) {
  if (TryReap()) return;
  // The group id of a CREATE_NEW_PROCESS_GROUP child is its PID. Ctrl+C cannot be sent to a group, only Ctrl+Break.
  if (!GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, pid_)) {
    ctrl_break_error_ = "CTRL_BREAK_EVENT not sent: " + platform::ErrorText(GetLastError());
    grace = std::chrono::milliseconds(0);
  }
  const auto due = std::chrono::steady_clock::now() + grace;
  if (!kill_at_ || due < *kill_at_) kill_at_ = due;
}

void Win32Child::Kill() {
  if (TryReap()) return;
  killed_ = true;
  TerminateJobObject(job_, kKilledExitCode);
  kill_at_.reset();
}

void Win32Child::KillIfOverdue(std::chrono::steady_clock::time_point now) {
  if (kill_at_ && now >= *kill_at_) Kill();
}

}  // namespace llmdesk::process
