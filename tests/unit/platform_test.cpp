// platform/: the POSIX side of the seams (the Win32 side runs under Wine: tests/windows).
#include <gtest/gtest.h>

#include <map>

#include "platform/random.h"
#include "platform/user_dirs.h"

namespace llmdesk::platform {
namespace {

EnvLookup Env(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    return it == values.end() ? std::nullopt : std::optional(it->second);
  };
}

TEST(UserDirsTest, XdgVariablesWinOverHome) {
  auto env = Env({{"XDG_CONFIG_HOME", "/cfg"}, {"XDG_DATA_HOME", "/data"}, {"HOME", "/home/u"}});
  EXPECT_EQ(UserConfigDir(env), "/cfg");
  EXPECT_EQ(UserDataDir(env), "/data");
  EXPECT_EQ(HomeDir(env), "/home/u");
}

TEST(UserDirsTest, HomeFallbacksAndEmptyValues) {
  auto env = Env({{"XDG_CONFIG_HOME", ""}, {"HOME", "/home/u"}});
  EXPECT_EQ(UserConfigDir(env), "/home/u/.config");
  EXPECT_EQ(UserDataDir(env), "/home/u/.local/share");
  EXPECT_EQ(UserConfigDir(Env({})), "");  // nothing set: empty, the caller decides
  EXPECT_EQ(HomeDir(Env({{"HOME", ""}})), "");
}

TEST(UserDirsTest, PathsKeepTheirBytes) {
  const std::string name = "/tmp/m\xc3\xbcller/\xff.yaml";  // UTF-8 and a byte that is not
  EXPECT_EQ(PathToUtf8(PathFromUtf8(name)), name);
}

TEST(RandomTest, FillsEveryByte) {
  // 64 bytes all zero after the call: probability 2^-512.
  unsigned char bytes[64] = {};
  FillRandom(bytes, sizeof(bytes));
  bool any = false;
  for (unsigned char b : bytes) any = any || b != 0;
  EXPECT_TRUE(any);
  unsigned char again[64] = {};
  FillRandom(again, sizeof(again));
  EXPECT_NE(std::string(reinterpret_cast<char*>(bytes), 64), std::string(reinterpret_cast<char*>(again), 64));
}

}  // namespace
}  // namespace llmdesk::platform
