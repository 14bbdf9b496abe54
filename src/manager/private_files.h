// manager/private_files.h — directories and files only we can touch (private to src/manager).
//
// The state and log directories may be in shared places (/tmp/llmdesk-UID without XDG_RUNTIME_DIR):
// another user could create them first, or plant symlinks in them. So a directory is used only when
// it is a real directory (not a symlink), owned by our euid and not writable by group or others; a new
// one is created 0700. Files are opened with O_NOFOLLOW; whole-file rewrites go through mkstemp+rename.
// Windows (private_files_win32.cpp): the folders are under %LOCALAPPDATA%\llmdesk, which Windows' default ACL
// already keeps to the user, so no owner or mode check there; a folder or file that is a reparse point (a
// symbolic link or junction) is refused as a symlink is on POSIX; paths are UTF-16 at the API; ReplaceFile is
// a CREATE_NEW temporary file, FlushFileBuffers, MoveFileExW(REPLACE_EXISTING | WRITE_THROUGH).
#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"
#if !defined(_WIN32)
#include "common/unique_fd.h"
#endif

namespace llmdesk::manager {

// Creates `dir` (and missing parents, 0700) or checks the existing one. `what` names it in errors
// ("state directory"); PermissionDenied says what is wrong with it and what to do.
Status EnsurePrivateDir(const std::filesystem::path& dir, const std::string& what);
#if !defined(_WIN32)
// open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0600); IoError names the path (a symlink: ELOOP). POSIX only.
Result<UniqueFd> OpenNoFollow(const std::filesystem::path& path, int flags);
#endif
// Reads a regular file (not a symlink) of at most max_bytes; NotFound when absent.
Result<std::string> ReadPrivateFile(const std::filesystem::path& path, size_t max_bytes);
// Writes `text` to a fresh mkstemp file next to `path` and renames it over `path`.
Status ReplaceFile(const std::filesystem::path& path, const std::string& text);

// "defaults" for the built-in config, else "config-<FNV-1a of the canonical config path>".
std::string ConfigKey(const std::string& config_source);
// POSIX: $XDG_RUNTIME_DIR/llmdesk, else /tmp/llmdesk-UID. Windows: %LOCALAPPDATA%\llmdesk\run.
std::filesystem::path DefaultStateDir();
// POSIX: $XDG_STATE_HOME/llmdesk/logs, else ~/.local/state/llmdesk/logs. Windows: %LOCALAPPDATA%\llmdesk\logs.
std::filesystem::path DefaultLogDir();

}  // namespace llmdesk::manager
