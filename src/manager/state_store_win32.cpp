// The Windows side of state_store.h: the instance lock (LockFileEx) and CleanStale (PID + creation time +
// image path; TerminateProcess). An engine's own children are not searched for: each engine runs in a Job
// Object with KILL_ON_JOB_CLOSE, which ended them with the manager that held the job.
#include <windows.h>

#include <fmt/format.h>

#include <string>

#include "manager/host_os.h"
#include "manager/private_files.h"
#include "manager/state_store.h"
#include "platform/user_dirs.h"
#include "platform/utf16.h"
#include "process/process.h"

namespace llmdesk::manager {
namespace {

constexpr size_t kMaxStateFile = 1 << 20;
// The locked byte: far past the PID text, so the text stays readable (a Windows lock forbids reading its range).
constexpr DWORD kLockOffsetHigh = 1;  // byte 4 GiB

class LockFileLock final : public InstanceLock {
 public:
  explicit LockFileLock(HANDLE file) : file_(file) {}
  ~LockFileLock() override { CloseHandle(file_); }  // closing releases the lock (so does the process's end)

 private:
  HANDLE file_;
};

std::string LastError() { return platform::ErrorText(GetLastError()); }

}  // namespace

Result<std::unique_ptr<InstanceLock>> InstanceLock::Take(const std::filesystem::path& path, std::string& holder) {
  const std::string name = platform::PathToUtf8(path);
  HANDLE file = CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                            OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (file == INVALID_HANDLE_VALUE) return Status::IoError("cannot open the lock file " + name + ": " + LastError());
  BY_HANDLE_FILE_INFORMATION info{};
  if (!GetFileInformationByHandle(file, &info) || (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
    CloseHandle(file);
    return Status::PermissionDenied(name + " is a symbolic link or not a file; llmdesk does not follow it");
  }
  OVERLAPPED at{};
  at.OffsetHigh = kLockOffsetHigh;
  if (!LockFileEx(file, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &at)) {
    const DWORD e = GetLastError();
    CloseHandle(file);
    if (e != ERROR_LOCK_VIOLATION && e != ERROR_IO_PENDING)
      return Status::IoError("cannot lock " + name + ": " + platform::ErrorText(e));
    auto held_by = ReadPrivateFile(path, 64);
    holder = held_by.ok() ? *held_by : "";
    return Status::AlreadyExists("held by another process");
  }
  const std::string pid = std::to_string(CurrentPid()) + "\n";
  DWORD written = 0;
  if (SetFilePointer(file, 0, nullptr, FILE_BEGIN) == INVALID_SET_FILE_POINTER || !SetEndOfFile(file) ||
      !WriteFile(file, pid.data(), static_cast<DWORD>(pid.size()), &written, nullptr) || written != pid.size()) {
    const std::string why = LastError();
    CloseHandle(file);
    return Status::IoError("cannot write the lock file " + name + ": " + why);
  }
  return std::unique_ptr<InstanceLock>(new LockFileLock(file));
}

std::vector<std::string> StateStore::CleanStale() {
  std::vector<std::string> notes;
  auto text = ReadPrivateFile(state_path_, kMaxStateFile);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) return notes;
    notes.push_back("ignored the state file: " + text.status().message());
  } else {
    for (const EngineRecord& r : ParseStateFile(*text, platform::PathToUtf8(state_path_), notes)) {
      if (r.pid == CurrentPid()) continue;
      auto started = process::ProcessStartTime(r.pid);
      if (!started) continue;  // gone already (with its Job Object, everything it started)
      if (*started != r.start_time) {
        notes.push_back(fmt::format("PID {} recorded for '{}' is now a different process; left alone", r.pid, r.name));
        continue;
      }
      if (r.exe.empty() || ProcessImagePath(r.pid) != r.exe) {
        notes.push_back(fmt::format("PID {} recorded for '{}' is not an engine this llmdesk started; left alone",
                                    r.pid, r.name));
        continue;
      }
      HANDLE process = OpenProcess(PROCESS_TERMINATE | SYNCHRONIZE, FALSE, static_cast<DWORD>(r.pid));
      bool gone = false;
      if (process != nullptr) {
        TerminateProcess(process, 1);
        gone = WaitForSingleObject(process, 2000) == WAIT_OBJECT_0;
        CloseHandle(process);
      }
      notes.push_back(fmt::format("{} stale engine '{}' (PID {}, port {}) left by a previous llmdesk",
                                  gone ? "stopped" : "could not stop", r.name, r.pid, r.port));
    }
  }
  if (Status st = Write({}); !st.ok()) notes.push_back(st.message());
  return notes;
}

}  // namespace llmdesk::manager
