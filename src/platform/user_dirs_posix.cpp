// platform/user_dirs.h on POSIX: the XDG base directories (what config/ read before this seam existed).
#include "platform/user_dirs.h"

#include <cstdlib>

namespace llmdesk::platform {
namespace {

std::filesystem::path FromEnv(const EnvLookup& env, const char* xdg, const char* under_home) {
  if (auto v = env(xdg); v && !v->empty()) return *v;
  if (auto home = env("HOME"); home && !home->empty()) return std::filesystem::path(*home) / under_home;
  return {};
}

}  // namespace

std::optional<std::string> ProcessEnvValue(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v ? std::optional<std::string>(v) : std::nullopt;
}

std::filesystem::path UserConfigDir(const EnvLookup& env) { return FromEnv(env, "XDG_CONFIG_HOME", ".config"); }

std::filesystem::path UserDataDir(const EnvLookup& env) { return FromEnv(env, "XDG_DATA_HOME", ".local/share"); }

std::filesystem::path HomeDir(const EnvLookup& env) {
  if (auto home = env("HOME"); home && !home->empty()) return *home;
  return {};
}

std::filesystem::path PathFromUtf8(std::string_view utf8) { return std::filesystem::path(std::string(utf8)); }

std::string PathToUtf8(const std::filesystem::path& path) { return path.string(); }

}  // namespace llmdesk::platform
