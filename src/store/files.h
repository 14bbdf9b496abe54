// store/files.h (private to store/) — what the history store asks of the file system and the process table
// before SQLite opens the database. One interface, chosen at build time (docs/WINDOWS.md):
//   files_posix.cpp — mkdir 0700 / open O_NOFOLLOW 0600 / lstat, and /proc/PID/stat for a writer's start time;
//   files_win32.cpp — CreateDirectoryW / CreateFileW with UTF-16 paths, reparse points (symlinks, junctions)
//                     refused, and GetProcessTimes' creation time (process::ProcessStartTime).
// Errors are PermissionDenied / IoError messages that name the path (UTF-8) and what to do.
#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"

namespace llmdesk::store {

// A directory we own (created when missing with each missing parent). POSIX: 0700, not a symlink, ours, made
// private when it is not. Windows: a real directory, not a reparse point; its access comes from the user's
// profile (%LOCALAPPDATA% is readable only by the user, SYSTEM and Administrators), so no ACL is changed.
Status PrepareDirectory(const std::filesystem::path& dir);

// Creates the database file (POSIX 0600; SQLite would use the umask) and refuses a symlink in its place.
Status PrepareFile(const std::filesystem::path& file);

// SQLite opens FILE-wal, FILE-shm (and FILE-journal) beside the database. One planted as a symlink is refused
// with a message that says so (SQLite itself replaces a WAL symlink but fails on -shm with only "unable to open
// database file").
Status RefuseCompanionSymlinks(const std::filesystem::path& file);

// "pid:start-time" of a live process (the start time makes a reused pid not match), or "" when there is none.
std::string ProcessIdentity(long long pid);
long long CurrentProcessId();

}  // namespace llmdesk::store
