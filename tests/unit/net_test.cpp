#include <gtest/gtest.h>

#include "net/http_policy.h"

namespace llmdesk::net {
TEST(HttpPolicy, LoopbackHosts) {
  EXPECT_TRUE(IsLoopbackHostHeader("localhost:8763"));
  EXPECT_TRUE(IsLoopbackHostHeader("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHostHeader("[::1]:8763"));
  EXPECT_FALSE(IsLoopbackHostHeader("evil.example.com"));
  EXPECT_FALSE(IsLoopbackHostHeader("127.0.0.1.evil.com:80"));
  EXPECT_FALSE(IsLoopbackHostHeader(""));
}
TEST(HttpPolicy, Origins) {
  EXPECT_TRUE(IsAllowedOrigin(""));
  EXPECT_TRUE(IsAllowedOrigin("http://localhost:3000"));
  EXPECT_TRUE(IsAllowedOrigin("https://127.0.0.1"));
  EXPECT_FALSE(IsAllowedOrigin("http://evil.example.com"));
  EXPECT_FALSE(IsAllowedOrigin("null"));
}
TEST(HttpPolicy, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
}
}  // namespace llmdesk::net
