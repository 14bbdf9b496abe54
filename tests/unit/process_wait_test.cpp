// process/wait.h (WaitAny, WakeEvent) and the seam's handles and byte reads of a kPipes Child — the API the stdio MCP
// client waits through on both systems (its Windows side is checked under Wine: tests/windows/mcp_stdio_under_wine.sh).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "process/process.h"
#include "process/wait.h"

namespace llmdesk::process {
namespace {

using namespace std::chrono_literals;

TEST(WaitAny, TimesOutWithNothingReadyAndWakesOnASignalUntilReset) {
  WakeEvent wake;
  ASSERT_TRUE(wake.valid());
  auto ready = WaitAny({{wake.handle()}, {kNoWaitHandle}}, 50ms);
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_THAT(*ready, testing::ElementsAre(false, false));
  std::thread signaller([&] { wake.Signal(); });
  ready = WaitAny({{kNoWaitHandle}, {wake.handle()}}, 10s);  // no limit in effect: the signal ends the wait
  signaller.join();
  ASSERT_TRUE(ready.ok());
  EXPECT_THAT(*ready, testing::ElementsAre(false, true));
  EXPECT_TRUE((*WaitAny({{wake.handle()}}, 0ms))[0]) << "a signal stays until Reset()";
  wake.Reset();
  EXPECT_FALSE((*WaitAny({{wake.handle()}}, 0ms))[0]) << "Reset() did not clear the signal";
}

// A stdio server's shape driven through the seam alone: write (input_handle), read bytes (output_handle,
// error_handle), exit (exit_handle) — no fd and no poll of its own.
TEST(WaitAny, DrivesAPipesChildThroughItsHandles) {
  auto spawned = Child::Spawn({.argv = {"sh", "-c", "read line; echo \"got $line\"; echo oops >&2"},
                               .stdio = SpawnSpec::Stdio::kPipes});
  ASSERT_TRUE(spawned.ok()) << spawned.status().ToString();
  Child& child = **spawned;
  ASSERT_NE(child.input_handle(), kNoWaitHandle);
  ASSERT_NE(child.error_handle(), kNoWaitHandle);
  auto room = WaitAny({{child.input_handle(), /*writable=*/true}}, 10s);
  ASSERT_TRUE(room.ok() && (*room)[0]) << "stdin never had room";
  auto written = child.WriteStdin("hello\n");
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_EQ(*written, 6u);
  std::string out, err;
  bool out_open = true, err_open = true;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((out_open || err_open || !child.exited()) && std::chrono::steady_clock::now() < deadline) {
    auto ready = WaitAny({{child.exited() ? kNoWaitHandle : child.exit_handle()},
                          {out_open ? child.output_handle() : kNoWaitHandle},
                          {err_open ? child.error_handle() : kNoWaitHandle}},
                         1s);
    ASSERT_TRUE(ready.ok()) << ready.status().ToString();
    if ((*ready)[1]) out_open = child.ReadOutputBytes([&](std::string_view b) { out.append(b); });
    if ((*ready)[2]) err_open = child.ReadErrorBytes([&](std::string_view b) { err.append(b); });
    if ((*ready)[0]) child.TryReap();
  }
  EXPECT_EQ(out, "got hello\n");  // bytes as they came: the newline kept, nothing split
  EXPECT_EQ(err, "oops\n");
  ASSERT_TRUE(child.exited());
  EXPECT_EQ(child.exit_status()->code, 0);
  child.CloseStdin();
  EXPECT_EQ(child.input_handle(), kNoWaitHandle);
  child.CloseErrors();
  EXPECT_EQ(child.error_handle(), kNoWaitHandle);
}

}  // namespace
}  // namespace llmdesk::process
