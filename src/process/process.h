// process/process.h — running other programs: short commands to completion, and supervised children.
//
// RunCapture: a short-lived command (e.g. `llama-server --version`) run to completion with bounded
//   output and bounded time; the child's process group is killed on timeout. No threads.
//
// FindProgram: the one PATH lookup (RunCapture, Child::Spawn and engine::LocateLlamaServer use it).
//
// Child: a long-lived supervised process (an inference server, a stdio MCP server).
//  - Spawned with argv (never a shell) via fork+exec, in its own process group, environment = ours +
//    additions, every pipe end of ours close-on-exec. Two stdio modes (SpawnSpec::stdio):
//    kMergedOutput — stdin /dev/null, stdout+stderr into one pipe (interleaved like a terminal);
//    kPipes — stdin, stdout and stderr each a pipe (protocol on stdin/stdout, logs apart on stderr).
//  - PR_SET_PDEATHSIG(SIGKILL): the child dies when the *thread* that spawned it dies, so spawn from a
//    thread that lives as long as the child should (the manager's supervisor thread).
//  - Exit detection through a pidfd (pollable; never refers to another process after PID reuse).
//  - Nothing blocks: ReadOutput reads what is there, WriteStdin writes what fits, TryReap uses WNOHANG,
//    Terminate only sends signals and records when SIGKILL is due; the owner's event loop calls KillIfOverdue at NextDeadline().
//  - The destructor of a still-running Child SIGKILLs its group and reaps it (the kernel completes a
//    SIGKILL promptly; this is the last-resort path — owners normally Terminate and wait for the pidfd).
//  Not thread-safe: one owner thread uses a Child (or several, serialised by the owner's lock: the stdio MCP client).
//  kPipes on Windows: three overlapped named pipes; stdin is written overlapped, so WriteStdin never blocks: it hands
//  at most 64 KiB to one pending write at a time and says 0 while that one is pending (input_handle() is then
//  signalled when it completes), as a full pipe does on POSIX.
//  One interface, chosen at build time (docs/WINDOWS.md): child.cpp is the POSIX side described above;
//  child_win32.cpp the Windows side — CreateProcessW with the argv quoted by command_line.h (never `cmd /c`),
//  each child in its own Job Object with KILL_ON_JOB_CLOSE (what PDEATHSIG is on Linux: the child dies with
//  llmdesk, even on a crash or `taskkill /F`), created suspended and resumed once in the job; its output on an
//  overlapped pipe whose event is output_handle(); Terminate = CTRL_BREAK_EVENT to its process group, grace, then
//  TerminateJobObject; exit read from the process handle (exit_handle()). The owner's event loop waits on
//  exit_handle() and output_handle(): epoll/poll on POSIX, WaitForMultipleObjects on Windows.
//
// LineLog: a bounded ring buffer of output lines plus an optional log file capped in size (rotated to
//   FILE.1; when FILE cannot be renamed it grows to twice the cap before it is emptied). Thread-safe: the
//   supervisor appends, any thread reads the tail.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#if !defined(_WIN32)
#include "common/unique_fd.h"
#endif

namespace llmdesk::process {

// What an owner's event loop waits on: a file descriptor on POSIX (poll/epoll: readable), a HANDLE on Windows
// (WaitForMultipleObjects: signalled). kNoWaitHandle when there is none (the pipe was closed).
#if defined(_WIN32)
using WaitHandle = void*;
inline constexpr WaitHandle kNoWaitHandle = nullptr;
#else
using WaitHandle = int;
inline constexpr WaitHandle kNoWaitHandle = -1;
#endif

// ---- Short commands -------------------------------------------------------------------------------
struct RunOutput {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout and stderr interleaved, truncated to max_output bytes
};

// `env` is added to (or replaces in) our environment, as SpawnSpec::env does.
Result<RunOutput> RunCapture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                             size_t max_output = 64 * 1024, const std::map<std::string, std::string>& env = {});

// ---- Programs and pipes ---------------------------------------------------------------------------
// The program `name` names: itself when it contains '/', else the first executable regular file
// `dir/name` for the ':'-separated dirs of `search_path` (empty entries skipped). nullopt when there is
// none. Never throws (an over-long path simply is not found).
// Windows: a name with '/', '\\' or ':' names itself; dirs are ';'-separated; a name without an extension
// is looked for as `name.exe` (no other PATHEXT: we start programs, never scripts through a shell).
std::optional<std::filesystem::path> FindProgram(std::string_view name, std::string_view search_path);

// write(2) to a pipe or socket that never raises SIGPIPE: SIGPIPE is blocked in the calling thread
// around the write, and one the write raised is consumed (sigtimedwait) before the mask is restored —
// pipes have no MSG_NOSIGNAL. Returns write's result; errno is EPIPE when the reader is gone.
// Retries EINTR. Thread-safe (touches only the calling thread's signal mask). POSIX only.
#if !defined(_WIN32)
ssize_t WriteNoSigpipe(int fd, const void* data, size_t size);
#endif

// ---- Output log -----------------------------------------------------------------------------------
class LineLog {
 public:
  // `file` empty = ring only. The file is appended to; when it passes max_file_bytes it is renamed to
  // FILE.1 (replacing an older one) and a new FILE is started. It is opened O_NOFOLLOW, 0600: a file that cannot
  // be opened (a planted symlink) is never written, and the ring's first line says so and why.
  // Windows: the same, through CreateFileW; a file that is a reparse point (a symbolic link or junction) is refused
  // as a planted symlink is on POSIX, and the file is created with the folder's (the user's profile's) permissions.
  explicit LineLog(size_t max_lines, std::filesystem::path file = {}, size_t max_file_bytes = 4 << 20);
  ~LineLog();
  LineLog(const LineLog&) = delete;
  LineLog& operator=(const LineLog&) = delete;

  void Add(std::string line);
  std::vector<std::string> Tail(size_t lines) const;  // oldest first
  const std::filesystem::path& file() const { return file_; }

 private:
  void WriteToFile(const std::string& line);

  const size_t max_lines_;
  const std::filesystem::path file_;
  const size_t max_file_bytes_;
  mutable std::mutex mu_;
  std::deque<std::string> ring_;
  intptr_t file_handle_ = -1;  // the open file: an fd on POSIX, a HANDLE on Windows (line_log_file_*.cpp); -1: none
  size_t file_bytes_ = 0;
  size_t unrotated_bytes_ = 0;  // kept in FILE by rotations whose rename failed
};

// ---- Supervised children --------------------------------------------------------------------------
struct SpawnSpec {
  enum class Stdio {
    kMergedOutput,  // stdin /dev/null; stdout+stderr into one pipe: output_fd()
    kPipes,         // stdin_fd() to write, stdout_fd() and stderr_fd() to read: three pipes
  };
  std::vector<std::string> argv;           // argv[0] without '/' is looked up in PATH (FindProgram)
  std::map<std::string, std::string> env;  // added to (or replacing in) our environment
  std::filesystem::path working_dir;       // empty = ours
  Stdio stdio = Stdio::kMergedOutput;
};

struct ExitStatus {
  int code = -1;                 // exit code, or -1 when killed by a signal. Windows: the exit code as is
                                 // (an NTSTATUS failure such as 0xC0000005 is negative here)
  int signal = 0;                // the signal that killed it, 0 when it exited. Windows: always 0
  // Ended by a signal (POSIX) or, on Windows, with an NTSTATUS failure code: a crash (0xC0000005, ...) or a
  // kill (TerminateJobObject, Ctrl+Break: 0xC000013A) — what the manager treats as a crash, not an exit.
  bool abnormal() const;
  std::string ToString() const;  // "exited with code 1" / "killed by signal 9 (SIGKILL)" /
                                 // Windows: "ended with status 0xC0000005 (access violation)"
};

class Child {
 public:
  // NotFound when the program does not exist or is not executable; IoError for pipe/fork failures.
  static Result<std::unique_ptr<Child>> Spawn(const SpawnSpec& spec);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // What the owner's event loop waits on. exit_handle(): ready once the process has exited (POSIX: the pidfd;
  // Windows: the process handle). output_handle(): ready when ReadOutput has something to do (POSIX: the
  // output pipe; Windows: the event of the pending overlapped read), kNoWaitHandle after CloseOutput().
  WaitHandle exit_handle() const;
  WaitHandle output_handle() const;
  bool output_open() const { return output_handle() != kNoWaitHandle; }
  // kPipes: error_handle() is ready when ReadErrors/ReadErrorBytes has something to do (kNoWaitHandle after
  // CloseErrors()); input_handle() is ready when WriteStdin can take more (POSIX: stdin_fd(), wait for it to be
  // *writable*; Windows: the event of the pending write) — kNoWaitHandle after CloseStdin(). process/wait.h waits on them.
  WaitHandle error_handle() const;
  WaitHandle input_handle() const;
#if !defined(_WIN32)
  int pidfd() const { return pidfd_.get(); }       // readable when the process has exited
  int output_fd() const { return output_pipe_.fd.get(); }  // stdout(+stderr if merged); -1 after CloseOutput()
  int stdout_fd() const { return output_pipe_.fd.get(); }  // the same fd, by its kPipes name
  int stderr_fd() const { return error_pipe_.fd.get(); }   // kPipes only; -1 otherwise and after CloseErrors()
  int stdin_fd() const { return input_.get(); }  // kPipes only: non-blocking write end; -1 after CloseStdin()
#else
  // Why the last Terminate could not send CTRL_BREAK_EVENT (it needs the console we share; then the kill is due
  // at once); empty when it was sent.
  const std::string& ctrl_break_error() const;
#endif
  bool exited() const { return exit_.has_value(); }
  const std::optional<ExitStatus>& exit_status() const { return exit_; }
  std::chrono::steady_clock::time_point started() const { return started_; }

  // Reads what the pipe holds now (non-blocking) and calls on_line for every complete line (without
  // the newline; "\r" also ends a line). At EOF a trailing partial line is delivered too. Returns false
  // once at EOF; the fd stays open until CloseOutput(), so the owner can take it out of its epoll set
  // first (closing first could leave a stale registration behind if the fd was ever duplicated).
  // The owner may instead read() output_fd() itself (it is non-blocking), e.g. for JSON-RPC messages
  // longer than the 16 KiB a line is cut at here.
  bool ReadOutput(const std::function<void(std::string_view)>& on_line);
  // The same without splitting: on_bytes gets the bytes as they came (in chunks of any size), for protocols whose
  // messages are longer than a line here may be (JSON-RPC over stdio). One pipe is read either way, never both.
  bool ReadOutputBytes(const std::function<void(std::string_view)>& on_bytes);
  void CloseOutput();
  // kPipes: the same for stderr (the child's log lines). False at once in kMergedOutput mode.
  bool ReadErrors(const std::function<void(std::string_view)>& on_line);
  bool ReadErrorBytes(const std::function<void(std::string_view)>& on_bytes);
  void CloseErrors();

  // kPipes: writes what the pipe takes now (non-blocking) and returns how many bytes that was — 0 when
  // the pipe is full (poll stdin_fd() for POLLOUT, then write the rest). Unavailable once the child has
  // closed its stdin or exited; never a SIGPIPE (WriteNoSigpipe). FailedPrecondition without a stdin
  // pipe (kMergedOutput, or after CloseStdin()).
  // Windows: the bytes taken are in a pending overlapped write (at most 64 KiB); 0 while it is pending (wait on
  // input_handle()). A write the child never completes because it exited is reported by the next call.
  Result<size_t> WriteStdin(std::string_view data);
  // The child reads EOF. Windows: a write still pending (the child has not read it) is cancelled first.
  void CloseStdin();

  // Reaps the process if it has exited (WNOHANG; Windows: the process handle is signalled). Returns its status
  // once reaped.
  std::optional<ExitStatus> TryReap();

  // SIGTERM to the whole group now; SIGKILL becomes due after `grace` (see KillIfOverdue).
  // Windows: CTRL_BREAK_EVENT to its process group; TerminateJobObject becomes due after `grace`.
  void Terminate(std::chrono::milliseconds grace);
  void Kill();  // SIGKILL to the group now (Windows: TerminateJobObject: the child and all it started)
  // When the pending SIGKILL is due (nullopt when none is pending).
  std::optional<std::chrono::steady_clock::time_point> NextDeadline() const;
  void KillIfOverdue(std::chrono::steady_clock::time_point now);

 private:
  Child() = default;
#if defined(_WIN32)
  struct Win32;  // handles, the overlapped read, the job (child_win32.cpp)
  std::unique_ptr<Win32> win32_;
  pid_t pid_ = -1;
  std::optional<ExitStatus> exit_;
  std::optional<std::chrono::steady_clock::time_point> kill_at_;
  std::chrono::steady_clock::time_point started_;
#else
  void SignalGroup(int sig);
  void TryReapBlocking();  // only for exec failure and the destructor's SIGKILL path

  // A pipe read as lines: the fd, the bytes after its last newline, and whether EOF was seen.
  struct LinePipe {
    UniqueFd fd;
    std::string partial;
    bool eof = false;
  };
  static bool ReadLines(LinePipe& pipe, const std::function<void(std::string_view)>& on_line);
  static bool ReadChunks(LinePipe& pipe, const std::function<void(std::string_view)>& on_bytes);

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  LinePipe output_pipe_;
  LinePipe error_pipe_;
  UniqueFd input_;
  std::optional<ExitStatus> exit_;
  std::optional<std::chrono::steady_clock::time_point> kill_at_;
  std::chrono::steady_clock::time_point started_;
#endif
};

// Field 22 of /proc/PID/stat (start time in clock ticks since boot): with the PID it identifies a
// process uniquely, so a recorded PID that was reused by another program is recognised. nullopt if gone
// (a zombie counts as gone: it has exited and holds no port or memory).
// Windows: the creation time from GetProcessTimes (100 ns since 1601); nullopt if gone or exited.
std::optional<unsigned long long> ProcessStartTime(pid_t pid);

}  // namespace llmdesk::process
