// process/win32_child.h — a supervised child process on Windows (issue 13; the Win32 counterpart of process.h's
// Child, whose interface is file descriptors and pidfds; one interface for both comes with the supervisor's
// Windows wait loop, docs/WINDOWS.md).
//  - CreateProcessW with the command line from QuoteWindowsCommandLine (command_line.h): argv reaches the child
//    exactly, and never through a shell (no `cmd /c`). UTF-8 in, UTF-16 at the API.
//  - Each child in its own Job Object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE. The job handle is ours alone (never
//    inherited), so however this process ends — exit, crash, `taskkill /F` — Windows closes it and kills the child
//    and everything the child started: what PR_SET_PDEATHSIG is on Linux. The child is created suspended and
//    resumed only once it is in the job, so it never runs outside it.
//  - CREATE_NEW_PROCESS_GROUP: Terminate sends CTRL_BREAK_EVENT to the child's group (its chance to stop cleanly;
//    it needs the console we share) and makes TerminateJobObject due after the grace. If the event cannot be sent
//    (no shared console), the kill is due at once and ctrl_break_error() says why.
//  - stdin is NUL; stdout and stderr are one anonymous pipe each. Only those three handles are inherited
//    (PROC_THREAD_ATTRIBUTE_HANDLE_LIST), so a concurrent spawn never leaks our pipe ends into another child.
//  - Exit is read from the process handle (process_handle() is waitable: WaitForMultipleObjects), never by PID.
//  Not thread-safe: one owner thread uses a Win32Child. Handles are void* so this header needs no <windows.h>.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace llmdesk::process {

struct Win32Exit {
  unsigned long code = 0;  // GetExitCodeProcess
  bool killed = false;     // ended by our TerminateJobObject (code is then kKilledExitCode)
};

class Win32Child {
 public:
  static constexpr unsigned long kKilledExitCode = 0xC000013A;  // STATUS_CONTROL_C_EXIT, as Windows uses for Ctrl+C

  // argv[0] is a path to the program (no PATH search yet). InvalidArgument for an argv Windows cannot pass;
  // NotFound when the program does not exist; IoError for the other failures (with Windows' message).
  static Result<std::unique_ptr<Win32Child>> Spawn(const std::vector<std::string>& argv);
  ~Win32Child();  // a child still running is killed with its job (TerminateJobObject), then every handle closed
  Win32Child(const Win32Child&) = delete;
  Win32Child& operator=(const Win32Child&) = delete;

  unsigned long pid() const { return pid_; }
  void* process_handle() const { return process_; }  // signalled when the process has exited
  void* stdout_handle() const { return stdout_.handle; }
  void* stderr_handle() const { return stderr_.handle; }

  // Reads what the pipe holds now (PeekNamedPipe first: never blocks) and calls on_line for every complete line
  // (without "\n" or "\r\n"). At EOF a trailing partial line is delivered too; returns false once at EOF.
  bool ReadOutput(const std::function<void(std::string_view)>& on_line);
  bool ReadErrors(const std::function<void(std::string_view)>& on_line);

  // The exit, once the process handle is signalled (never blocks).
  std::optional<Win32Exit> TryReap();

  // CTRL_BREAK_EVENT to the child's group now; TerminateJobObject becomes due after `grace` (KillIfOverdue).
  void Terminate(std::chrono::milliseconds grace);
  void Kill();  // TerminateJobObject now: the child and all it started
  std::optional<std::chrono::steady_clock::time_point> NextDeadline() const { return kill_at_; }
  void KillIfOverdue(std::chrono::steady_clock::time_point now);
  const std::string& ctrl_break_error() const { return ctrl_break_error_; }  // empty when the event was sent

 private:
  struct LinePipe {
    void* handle = nullptr;
    std::string partial;
    bool eof = false;
  };
  Win32Child() = default;
  static bool ReadLines(LinePipe& pipe, const std::function<void(std::string_view)>& on_line);

  unsigned long pid_ = 0;
  void* process_ = nullptr;
  void* job_ = nullptr;
  LinePipe stdout_;
  LinePipe stderr_;
  std::optional<Win32Exit> exit_;
  bool killed_ = false;
  std::optional<std::chrono::steady_clock::time_point> kill_at_;
  std::string ctrl_break_error_;
};

}  // namespace llmdesk::process
