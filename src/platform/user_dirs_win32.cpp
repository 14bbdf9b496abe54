// platform/user_dirs.h on Windows: %APPDATA% (roaming: the config follows the user), %LOCALAPPDATA% (models
// and history are large and machine-local), %USERPROFILE% for "~". Environment values are UTF-8 here: the
// injected lookup of a Windows process reads them with _wgetenv (config::ProcessEnv).
#include "platform/user_dirs.h"

#include <cstdlib>

#include "platform/utf16.h"

namespace llmdesk::platform {
namespace {

std::filesystem::path FromEnv(const EnvLookup& env, const char* name) {
  if (auto v = env(name); v && !v->empty()) return PathFromUtf8(*v);
  return {};
}

}  // namespace

std::optional<std::string> ProcessEnvValue(const std::string& name) {
  const wchar_t* v = _wgetenv(Widen(name).c_str());
  return v ? std::optional<std::string>(Narrow(v)) : std::nullopt;
}

std::filesystem::path UserConfigDir(const EnvLookup& env) { return FromEnv(env, "APPDATA"); }

std::filesystem::path UserDataDir(const EnvLookup& env) { return FromEnv(env, "LOCALAPPDATA"); }

std::filesystem::path HomeDir(const EnvLookup& env) { return FromEnv(env, "USERPROFILE"); }

std::filesystem::path PathFromUtf8(std::string_view utf8) { return std::filesystem::path(Widen(utf8)); }

std::string PathToUtf8(const std::filesystem::path& path) { return Narrow(path.native()); }

}  // namespace llmdesk::platform
