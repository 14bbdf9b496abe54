// manager/state_store.h — one manager per config, and the record of the engines it runs (private to
// src/manager). KEY.lock (flock, holds the owner's PID) and KEY.state.json in a private directory.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

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
  UniqueFd lock_fd_;
};

}  // namespace llmdesk::manager
