// process/process.h's Child on Windows: CreateProcessW into a kill-on-close Job Object, the output on an overlapped
// pipe (waitable), Ctrl+Break then TerminateJobObject, exit by process handle. ProcessStartTime by GetProcessTimes.
#include <windows.h>

#include <sddl.h>

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
  HANDLE job = nullptr, process = nullptr, thread = nullptr, out_read = nullptr, out_write = nullptr, nul = nullptr,
         err_read = nullptr, err_write = nullptr, in_read = nullptr, in_write = nullptr;
  std::vector<unsigned char> attribute_storage;
  LPPROC_THREAD_ATTRIBUTE_LIST attributes = nullptr;
  ~SpawnHandles() {
    if (attributes) DeleteProcThreadAttributeList(attributes);
    for (HANDLE h : {job, process, thread, out_read, out_write, nul, err_read, err_write, in_read, in_write})
      if (h != nullptr && h != INVALID_HANDLE_VALUE) CloseHandle(h);
  }
};

// An anonymous pipe cannot be read or written overlapped (so it cannot be waited on): each pipe is a one-instance
// named pipe with a random name, local clients only. Our end (the server end) is overlapped; the child's end is
// inheritable and synchronous, as a program expects its stdio. `inbound`: the child writes (stdout, stderr);
// otherwise the child reads (stdin).
bool MakePipe(bool inbound, HANDLE& ours, HANDLE& childs) {
  unsigned char random[8];
  platform::FillRandom(random, sizeof(random));
  wchar_t name[96];
  std::swprintf(name, 96, L"\\\\.\\pipe\\llmdesk-%lu-%02x%02x%02x%02x%02x%02x%02x%02x", GetCurrentProcessId(),
                random[0], random[1], random[2], random[3], random[4], random[5], random[6], random[7]);
  const DWORD access = (inbound ? PIPE_ACCESS_INBOUND : PIPE_ACCESS_OUTBOUND) | FILE_FLAG_OVERLAPPED |
                       FILE_FLAG_FIRST_PIPE_INSTANCE;
  // Only our own user may open the other end: the default DACL lets Everyone read, so another local user could take
  // the one instance of a stdin pipe first (and read what we send). "D:P(A;;GA;;;OW)": owner rights, nothing else.
  PSECURITY_DESCRIPTOR owner_only = nullptr;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:P(A;;GA;;;OW)", SDDL_REVISION_1, &owner_only,
                                                            nullptr))
    return false;
  SECURITY_ATTRIBUTES security{sizeof(SECURITY_ATTRIBUTES), owner_only, FALSE};
  ours = CreateNamedPipeW(name, access, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                          1, inbound ? 0 : 64 * 1024, inbound ? 64 * 1024 : 0, 0, &security);
  LocalFree(owner_only);
  if (ours == INVALID_HANDLE_VALUE) {
    ours = nullptr;
    return false;
  }
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  childs = CreateFileW(name, inbound ? GENERIC_WRITE : GENERIC_READ, 0, &inherit, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL,
                       nullptr);
  if (childs == INVALID_HANDLE_VALUE) {
    childs = nullptr;
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

// One pipe the child writes (stdout, stderr), read overlapped. The buffer and OVERLAPPED live here, at a fixed
// address, until the read is cancelled and finished (Close).
struct ReadPipe {
  HANDLE handle = nullptr;
  HANDLE event = nullptr;  // manual reset; signalled when the pending read completed (or none is started yet)
  OVERLAPPED overlapped{};
  bool pending = false;
  bool eof = false;
  std::string partial;  // ReadOutput's bytes after the last line end
  char buffer[64 * 1024];

  bool Open(HANDLE ours) {
    handle = ours;
    // Signalled from the start: the first read call starts the first read. ReadFile resets it when a read begins.
    event = CreateEventW(nullptr, TRUE, TRUE, nullptr);
    overlapped.hEvent = event;
    return event != nullptr;
  }
  // Hands what the pipe holds now to on_bytes, keeping one read pending; false at EOF.
  bool Read(const std::function<void(std::string_view)>& on_bytes) {
    if (handle == nullptr || eof) return false;
    size_t total = 0;
    while (total < kMaxReadPerCall) {
      if (!pending) {
        // Completes now or later; either way the event is set on completion and GetOverlappedResult reports it.
        if (!ReadFile(handle, buffer, sizeof(buffer), nullptr, &overlapped) && GetLastError() != ERROR_IO_PENDING) {
          eof = true;  // ERROR_BROKEN_PIPE: the child and every copy of its end are gone
          return false;
        }
        pending = true;
      }
      DWORD got = 0;
      if (!GetOverlappedResult(handle, &overlapped, &got, FALSE)) {
        if (GetLastError() == ERROR_IO_INCOMPLETE) return true;  // nothing more now: the event is reset until then
        pending = false;
        eof = true;
        return false;
      }
      pending = false;
      total += got;
      on_bytes(std::string_view(buffer, got));
    }
    return true;  // stopped at kMaxReadPerCall: the event stays set, the loop comes back
  }
  bool ReadLines(const std::function<void(std::string_view)>& on_line) {
    const bool open = Read([&](std::string_view bytes) {
      partial.append(bytes);
      TakeLines(partial, false, on_line);
    });
    if (!open && eof) TakeLines(partial, true, on_line);
    return open;
  }
  void Close() {
    if (handle != nullptr && pending) {
      DWORD ignored = 0;
      CancelIoEx(handle, &overlapped);
      GetOverlappedResult(handle, &overlapped, &ignored, TRUE);  // the buffer is free only once the read is done
      pending = false;
    }
    for (HANDLE* h : {&handle, &event})
      if (*h != nullptr) CloseHandle(std::exchange(*h, nullptr));
  }
  ~ReadPipe() { Close(); }
};

// The child's stdin, written overlapped: at most one write pending, its bytes kept here until it completes.
struct WritePipe {
  static constexpr size_t kMaxWrite = 64 * 1024;
  HANDLE handle = nullptr;
  HANDLE event = nullptr;  // manual reset; signalled while no write is pending (WriteStdin can take more)
  OVERLAPPED overlapped{};
  bool pending = false;
  std::string buffer;

  bool Open(HANDLE ours) {
    handle = ours;
    event = CreateEventW(nullptr, TRUE, TRUE, nullptr);
    overlapped.hEvent = event;
    return event != nullptr;
  }
  void Close() {
    if (handle != nullptr && pending) {
      DWORD ignored = 0;
      CancelIoEx(handle, &overlapped);
      GetOverlappedResult(handle, &overlapped, &ignored, TRUE);
      pending = false;
    }
    for (HANDLE* h : {&handle, &event})
      if (*h != nullptr) CloseHandle(std::exchange(*h, nullptr));
  }
  ~WritePipe() { Close(); }
};

bool ChildGone(DWORD error) {
  return error == ERROR_BROKEN_PIPE || error == ERROR_NO_DATA || error == ERROR_PIPE_NOT_CONNECTED;
}

}  // namespace

// The handles of one child.
struct Child::Win32 {
  HANDLE process = nullptr;
  HANDLE job = nullptr;
  ReadPipe output;  // stdout (and stderr in kMergedOutput)
  ReadPipe errors;  // kPipes: stderr
  WritePipe input;  // kPipes: stdin
  std::string ctrl_break_error;

  ~Win32() {
    output.Close();
    errors.Close();
    input.Close();
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
  const std::string search_path = platform::ProcessEnvValue("PATH").value_or("");
  auto found = FindProgram(spec.argv[0], search_path);
  // A batch file (npx is npx.cmd) runs through cmd.exe, which reads & | < > ^ in its arguments whatever our quoting
  // says: never implicitly. Naming cmd.exe in the config is the user's explicit choice.
  const std::string batch_advice = ", which Windows runs through cmd.exe (its own rules for & | < > ^); llmdesk "
                                   "does not start batch files itself: write the command as cmd with the arguments "
                                   "/c " + spec.argv[0] + " ...";
  if (!found) {
    for (const char* extension : {".cmd", ".bat"})
      if (auto script = FindProgram(spec.argv[0] + extension, search_path))
        return Status::NotFound("cannot start " + spec.argv[0] + ": it is the batch file " +
                                platform::PathToUtf8(*script) + batch_advice);
    return Status::NotFound("cannot start " + spec.argv[0] + ": no such program (.exe)");
  }
  const std::wstring extension = found->extension().wstring();
  if (CompareStringOrdinal(extension.c_str(), -1, L".cmd", -1, TRUE) == CSTR_EQUAL ||
      CompareStringOrdinal(extension.c_str(), -1, L".bat", -1, TRUE) == CSTR_EQUAL)
    return Status::InvalidArgument("cannot start " + spec.argv[0] + ": it is a batch file" + batch_advice);
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
  const bool pipes = spec.stdio == SpawnSpec::Stdio::kPipes;
  if (!MakePipe(true, h.out_read, h.out_write)) return LastErrorStatus("cannot create the output pipe of " + name);
  if (pipes) {
    if (!MakePipe(true, h.err_read, h.err_write)) return LastErrorStatus("cannot create the stderr pipe of " + name);
    if (!MakePipe(false, h.in_write, h.in_read)) return LastErrorStatus("cannot create the stdin pipe of " + name);
  } else {
    SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
    h.nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit, OPEN_EXISTING, 0, nullptr);
    if (h.nul == INVALID_HANDLE_VALUE) {
      h.nul = nullptr;
      return LastErrorStatus("cannot open NUL for the stdin of " + name);
    }
  }
  // The child's stdin, stdout and stderr (stdout and stderr interleaved in one pipe for kMergedOutput).
  const HANDLE child_in = pipes ? h.in_read : h.nul, child_out = h.out_write, child_err = pipes ? h.err_write : h.out_write;

  // Exactly these handles are inherited, whatever else is inheritable in this process right now.
  SIZE_T size = 0;
  InitializeProcThreadAttributeList(nullptr, 1, 0, &size);
  h.attribute_storage.resize(size);
  auto* attributes = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(h.attribute_storage.data());
  if (!InitializeProcThreadAttributeList(attributes, 1, 0, &size))
    return LastErrorStatus("cannot prepare the start of " + name);
  h.attributes = attributes;
  HANDLE inherited[3] = {child_in, child_out, child_err};
  const size_t inherited_count = pipes ? 3 : 2;
  if (!UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherited,
                                 inherited_count * sizeof(HANDLE), nullptr, nullptr))
    return LastErrorStatus("cannot limit the handles " + name + " inherits");

  STARTUPINFOEXW startup{};
  startup.StartupInfo.cb = sizeof(startup);
  startup.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  startup.StartupInfo.hStdInput = child_in;
  startup.StartupInfo.hStdOutput = child_out;
  startup.StartupInfo.hStdError = child_err;
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
  bool events = w.output.Open(std::exchange(h.out_read, nullptr));
  if (pipes) {
    events = w.errors.Open(std::exchange(h.err_read, nullptr)) && events;
    events = w.input.Open(std::exchange(h.in_write, nullptr)) && events;
  }
  if (!events) return LastErrorStatus("cannot create the pipe events of " + name);  // ~Child ends it
  return child;  // h closes the thread handle, the child's pipe ends and NUL: the child holds its own copies
}

Child::~Child() {
  if (win32_ && !TryReap() && win32_->job) TerminateJobObject(win32_->job, kKilledExitCode);
}  // ~Win32 closes the job too: anything the child started and left behind goes with it

WaitHandle Child::exit_handle() const { return win32_->process; }
WaitHandle Child::output_handle() const { return win32_->output.handle ? win32_->output.event : kNoWaitHandle; }
WaitHandle Child::error_handle() const { return win32_->errors.handle ? win32_->errors.event : kNoWaitHandle; }
WaitHandle Child::input_handle() const { return win32_->input.handle ? win32_->input.event : kNoWaitHandle; }
const std::string& Child::ctrl_break_error() const { return win32_->ctrl_break_error; }

bool Child::ReadOutput(const std::function<void(std::string_view)>& on_line) { return win32_->output.ReadLines(on_line); }
bool Child::ReadOutputBytes(const std::function<void(std::string_view)>& on_bytes) {
  return win32_->output.Read(on_bytes);
}
void Child::CloseOutput() { win32_->output.Close(); }
bool Child::ReadErrors(const std::function<void(std::string_view)>& on_line) { return win32_->errors.ReadLines(on_line); }
bool Child::ReadErrorBytes(const std::function<void(std::string_view)>& on_bytes) {
  return win32_->errors.Read(on_bytes);
}
void Child::CloseErrors() { win32_->errors.Close(); }

Result<size_t> Child::WriteStdin(std::string_view data) {
  WritePipe& in = win32_->input;
  if (in.handle == nullptr)
    return Status::FailedPrecondition("this process has no stdin pipe (spawn it with Stdio::kPipes)");
  const std::string who = "PID " + std::to_string(pid_);
  if (in.pending) {  // the bytes taken last time: still on their way, or refused because the child went away
    DWORD written = 0;
    if (!GetOverlappedResult(in.handle, &in.overlapped, &written, FALSE)) {
      const DWORD error = GetLastError();
      if (error == ERROR_IO_INCOMPLETE) return size_t{0};
      in.pending = false;
      if (ChildGone(error)) return Status::Unavailable(who + " closed its stdin or exited");
      return Status::IoError("write to " + who + "'s stdin: " + platform::ErrorText(error));
    }
    in.pending = false;
  }
  if (data.empty()) return size_t{0};
  in.buffer.assign(data.substr(0, WritePipe::kMaxWrite));
  if (!WriteFile(in.handle, in.buffer.data(), static_cast<DWORD>(in.buffer.size()), nullptr, &in.overlapped)) {
    const DWORD error = GetLastError();
    if (error != ERROR_IO_PENDING) {
      if (ChildGone(error)) return Status::Unavailable(who + " closed its stdin or exited");
      return Status::IoError("write to " + who + "'s stdin: " + platform::ErrorText(error));
    }
    in.pending = true;  // the pipe is full: the child takes the rest when it reads; the event is set then
  }
  return in.buffer.size();
}

void Child::CloseStdin() { win32_->input.Close(); }

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
