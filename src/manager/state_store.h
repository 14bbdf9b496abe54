// manager/state_store.h — one manager per config, and the record of the engines it runs (private to
// src/manager). KEY.lock (the one-instance lock, holds the owner's PID) and KEY.state.json in a private directory.
// One interface, two sides chosen at build time (docs/WINDOWS.md): state_store_posix.cpp (flock; /proc for
// CleanStale) and state_store_win32.cpp (LockFileEx; PID + creation time + image path through the Win32 API);
// state_store.cpp is the shared part (the file's format, Open, Write).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace llmdesk::manager {

struct EngineRecord {
  std::string name;
  pid_t pid = 0;
  pid_t pgid = 0;                     // its process group (the engine leads it)
  unsigned long long start_time = 0;  // /proc/PID/stat field 22
  int port = 0;
  std::string exe;                    // readlink /proc/PID/exe right after the spawn
  std::string argv0;                  // the program we ran
};

// The engine records in the text of a state file (`source` names it in notes). A record that does not
// parse (a wrong type, PID 0 or 1, a group below 2) is left out with a note; text that is no state file
// at all gives no records and one note. Never throws, on any input (a fuzz target feeds it).
std::vector<EngineRecord> ParseStateFile(std::string_view text, const std::string& source,
                                         std::vector<std::string>& notes);

// The one-instance lock: held while the object lives, released by the OS when the process dies.
// POSIX: flock(LOCK_EX) on the file. Windows: LockFileEx (exclusive, fail immediately) on a byte far past the
// PID text, so a second llmdesk can still read who holds it.
class InstanceLock {
 public:
  // Opens or creates `path` (0600, never through a symlink), takes the lock without waiting and writes our PID
  // into the file. AlreadyExists when another process holds it: `holder` gets the PID text the file holds
  // (empty when unreadable). IoError/PermissionDenied otherwise.
  static Result<std::unique_ptr<InstanceLock>> Take(const std::filesystem::path& path, std::string& holder);
  virtual ~InstanceLock() = default;

 protected:
  InstanceLock() = default;
};

class StateStore {
 public:
  // Checks or creates `dir` (see private_files.h) and takes the per-config lock in it. AlreadyExists
  // names the PID holding it; PermissionDenied for a directory that is not safely ours.
  static Result<std::unique_ptr<StateStore>> Open(const std::filesystem::path& dir, const std::string& config_source);

  // Kills (group, SIGKILL) what the previous manager recorded, but only what is verifiably one of its
  // engines: same PID and start time, the recorded executable, and our owner mark in its environment.
  // When the leader is gone, the rest of its group is found in /proc (same group id, started after the
  // leader, our owner mark) and killed. Malformed files or records are ignored with a note. Clears the
  // file. Returns what it did, for the user.
  // Windows: same PID and creation time and the recorded image path (another process's environment is not
  // readable there); TerminateProcess, waited for on its handle (bounded). An engine's own children need no
  // search: its Job Object (KILL_ON_JOB_CLOSE) ended them with the manager that crashed.
  std::vector<std::string> CleanStale();
  // Atomic rewrite (mkstemp + rename). An error is returned for the caller to log; the engines go on.
  Status Write(const std::vector<EngineRecord>& engines);

  const std::filesystem::path& state_path() const { return state_path_; }
  const std::string& key() const { return key_; }  // the config KEY (also the engines' owner mark)

 private:
  StateStore() = default;
  std::string config_source_;
  std::string key_;
  std::filesystem::path state_path_;
  std::unique_ptr<InstanceLock> lock_;
};

}  // namespace llmdesk::manager
