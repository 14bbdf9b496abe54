// platform/user_dirs.h — the per-user folders llmdesk reads and writes, and paths from UTF-8 text.
//
// The environment is injected (the same signature as config::GetEnv) so tests control it. Each folder is the
// base: callers append "llmdesk/...". An empty path means the environment names none (the caller reports
// that or falls back); nothing here touches the file system or throws.
//   POSIX: config $XDG_CONFIG_HOME or $HOME/.config; data $XDG_DATA_HOME or $HOME/.local/share; home $HOME.
//   Win32: config %APPDATA%; data %LOCALAPPDATA%; home %USERPROFILE% (what a Windows program is expected to use).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace llmdesk::platform {

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment's value of `name` as UTF-8 (nullopt when unset). POSIX: getenv. Win32: _wgetenv, so
// a user name with non-ASCII letters in %APPDATA% survives. The lookup config::ProcessEnv() hands out.
std::optional<std::string> ProcessEnvValue(const std::string& name);

std::filesystem::path UserConfigDir(const EnvLookup& env);
std::filesystem::path UserDataDir(const EnvLookup& env);
std::filesystem::path HomeDir(const EnvLookup& env);

// A path from UTF-8 text (a config value, a command-line argument) and back. POSIX: the bytes as they are.
// Win32: UTF-8 <-> UTF-16, never the ANSI code page (std::filesystem::path(std::string) would use it there).
// PathToUtf8 never throws: text that cannot be converted comes back with U+FFFD.
std::filesystem::path PathFromUtf8(std::string_view utf8);
std::string PathToUtf8(const std::filesystem::path& path);

}  // namespace llmdesk::platform
