// process::Child and LineLog with real processes: output, environment, process groups, SIGTERM ->
// grace -> SIGKILL, PDEATHSIG tied to the spawning thread, and the bounded log.
#include "process/process.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "support/test_support.h"

namespace llmdesk::process {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

bool WaitReadable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

// Reads the child's output until EOF (bounded) and returns its lines.
std::vector<std::string> ReadAll(Child& child, std::chrono::milliseconds timeout = 10s) {
  std::vector<std::string> lines;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool open = true;
  while (open && std::chrono::steady_clock::now() < deadline) {
    if (!WaitReadable(child.output_fd(), 100ms)) continue;
    open = child.ReadOutput([&](std::string_view l) { lines.emplace_back(l); });
  }
  child.CloseOutput();
  return lines;
}

ExitStatus WaitExit(Child& child, std::chrono::milliseconds timeout = 10s) {
  EXPECT_TRUE(WaitReadable(child.pidfd(), timeout));
  auto status = child.TryReap();
  EXPECT_TRUE(status.has_value());
  return status.value_or(ExitStatus{});
}

TEST(Child, DeliversOutputLinesAndTheExitCode) {
  auto child = Child::Spawn({{"printf", "first\nsecond\r\nlast-without-newline"}});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  EXPECT_THAT(ReadAll(**child), ElementsAre("first", "second", "last-without-newline"));
  auto exit = WaitExit(**child);
  EXPECT_EQ(exit.code, 0);
  EXPECT_EQ(exit.signal, 0);
  EXPECT_EQ(exit.ToString(), "exited with code 0");
}

// The platform-neutral side of the seam (process.h) that the manager's logic uses: the wait handles are the pidfd
// and the output pipe here (WaitForMultipleObjects handles on Windows), output_open() turns false with
// CloseOutput(), and abnormal() tells a kill from an exit.
TEST(Child, WaitHandlesOutputOpenAndAbnormalExit) {
  auto child = Child::Spawn({{"sh", "-c", "echo hi; exit 3"}});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  EXPECT_EQ((*child)->exit_handle(), (*child)->pidfd());
  EXPECT_EQ((*child)->output_handle(), (*child)->output_fd());
  EXPECT_TRUE((*child)->output_open());
  EXPECT_THAT(ReadAll(**child), ElementsAre("hi"));
  EXPECT_FALSE((*child)->output_open());
  EXPECT_EQ((*child)->output_handle(), kNoWaitHandle);
  auto exited = WaitExit(**child);
  EXPECT_EQ(exited.code, 3);
  EXPECT_FALSE(exited.abnormal());

  auto sleeper = Child::Spawn({{"sleep", "30"}});
  ASSERT_TRUE(sleeper.ok()) << sleeper.status().ToString();
  (*sleeper)->Kill();
  auto killed = WaitExit(**sleeper);
  EXPECT_EQ(killed.signal, SIGKILL);
  EXPECT_TRUE(killed.abnormal());
}

TEST(Child, AddsEnvironmentAndRunsInItsOwnProcessGroup) {
  auto child = Child::Spawn({{"env"}, {{"LLMDESK_PROCESS_TEST", "yes"}}});
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(getpgid((*child)->pid()), (*child)->pid());
  auto lines = ReadAll(**child);
  EXPECT_THAT(lines, testing::Contains("LLMDESK_PROCESS_TEST=yes"));
  EXPECT_EQ(WaitExit(**child).code, 0);
}

TEST(Child, DoesNotInheritOurFileDescriptors) {
  test::TempDir dir;
  UniqueFd leaky(open(dir.Write("f", "x").c_str(), O_RDONLY));  // deliberately without O_CLOEXEC
  ASSERT_TRUE(leaky.valid());
  auto child = Child::Spawn({{"test", "-e", "/proc/self/fd/" + std::to_string(leaky.get())}});
  ASSERT_TRUE(child.ok());
  ReadAll(**child);
  EXPECT_EQ(WaitExit(**child).code, 1);  // `test -e` is false: the fd is not open in the child
  auto self = Child::Spawn({{"test", "-e", "/proc/self/fd/2"}});
  ASSERT_TRUE(self.ok());
  ReadAll(**self);
  EXPECT_EQ(WaitExit(**self).code, 0);
}

// RunCapture (engine --version, --list-devices) runs while the stack's HTTP connections are open: a copy of one
// in the program would keep it open after the stack closed it (a keep-alive peer then waits 60 s for nothing).
TEST(RunCapture, DoesNotInheritOurFileDescriptors) {
  test::TempDir dir;
  UniqueFd leaky(open(dir.Write("f", "x").c_str(), O_RDONLY));  // deliberately without O_CLOEXEC
  ASSERT_TRUE(leaky.valid());
  const std::string fd = std::to_string(leaky.get());
  auto run = RunCapture({"sh", "-c", "if test -e /proc/$$/fd/" + fd + "; then echo leaked; else echo clean; fi; "
                                     "test -e /proc/$$/fd/1 && echo stdout"},
                        10s);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->output, "clean\nstdout\n");
}

// The same for the tests' own spawner (the npm clients, node): it leaked the stack's sockets into node.
TEST(TestSpawn, DoesNotInheritOurFileDescriptors) {
  test::TempDir dir;
  UniqueFd leaky(open(dir.Write("f", "x").c_str(), O_RDONLY));  // deliberately without O_CLOEXEC
  ASSERT_TRUE(leaky.valid());
  auto r = test::RunCommand({"sh", "-c", "test -e /proc/$$/fd/" + std::to_string(leaky.get()) + " && echo leaked || echo clean"}, 10s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "clean\n");
}

TEST(Child, MissingProgramIsNotFound) {
  auto child = Child::Spawn({{"llmdesk-no-such-program"}});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), Status::Code::kNotFound);
  test::TempDir dir;
  auto not_executable = dir.Write("plain.txt", "x");
  EXPECT_EQ(Child::Spawn({{not_executable.string()}}).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(Child::Spawn({}).status().code(), Status::Code::kInvalidArgument);
}

TEST(Child, TerminateSendsSigtermToTheGroup) {
  auto child = Child::Spawn({{"sleep", "60"}});
  ASSERT_TRUE(child.ok());
  (*child)->Terminate(10s);
  auto exit = WaitExit(**child);
  EXPECT_EQ(exit.signal, SIGTERM);
  EXPECT_EQ((*child)->NextDeadline(), std::nullopt);
}

TEST(Child, SigkillFollowsWhenGraceRunsOut) {
  auto child = Child::Spawn({{test::BinPath("llmdesk-fake-engine").string(), "--ignore-sigterm", "--port",
                              std::to_string(test::PickUnusedPort()), "--delay-ms", "600000"}});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  // Wait for its first line: by then it ignores SIGTERM.
  bool said_something = false;
  for (int k = 0; k < 100 && !said_something; ++k) {
    if (WaitReadable((*child)->output_fd(), 100ms))
      (*child)->ReadOutput([&](std::string_view) { said_something = true; });
  }
  ASSERT_TRUE(said_something);
  (*child)->Terminate(200ms);
  auto deadline = (*child)->NextDeadline();
  ASSERT_TRUE(deadline.has_value());
  // The owner's loop: wait on the pidfd until the deadline, then KillIfOverdue.
  EXPECT_FALSE(WaitReadable((*child)->pidfd(), 100ms));  // SIGTERM was ignored
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
  if (!WaitReadable((*child)->pidfd(), std::max(left, 0ms))) (*child)->KillIfOverdue(std::chrono::steady_clock::now());
  auto exit = WaitExit(**child);
  EXPECT_EQ(exit.signal, SIGKILL);
  EXPECT_EQ(exit.ToString(), "killed by signal 9 (SIGKILL)");
}

TEST(Child, DiesWhenTheSpawningThreadDies) {
  std::unique_ptr<Child> child;
  std::thread spawner([&] {
    auto c = Child::Spawn({{"sleep", "60"}});
    ASSERT_TRUE(c.ok());
    child = std::move(c).value();
  });
  spawner.join();
  ASSERT_TRUE(child);
  auto exit = WaitExit(*child);  // PR_SET_PDEATHSIG fired when the thread ended
  EXPECT_EQ(exit.signal, SIGKILL);
}

TEST(Child, DestructorKillsAndReaps) {
  pid_t pid;
  {
    auto child = Child::Spawn({{"sleep", "60"}});
    ASSERT_TRUE(child.ok());
    pid = (*child)->pid();
    EXPECT_TRUE(ProcessStartTime(pid).has_value());
  }
  EXPECT_FALSE(ProcessStartTime(pid).has_value());  // gone and reaped (no zombie left)
}

TEST(ProcessStartTime, IdentifiesLiveProcesses) {
  auto self = ProcessStartTime(getpid());
  ASSERT_TRUE(self.has_value());
  EXPECT_EQ(ProcessStartTime(getpid()), self);
  EXPECT_FALSE(ProcessStartTime(0).has_value());
}

TEST(LineLog, KeepsTheLastLinesAndRotatesTheFile) {
  test::TempDir dir;
  auto file = dir.path() / "logs" / "x.log";
  LineLog log(3, file, 100);
  for (int k = 0; k < 20; ++k) log.Add("line " + std::to_string(k) + " ..........");
  EXPECT_THAT(log.Tail(2), ElementsAre("line 18 ..........", "line 19 .........."));
  EXPECT_EQ(log.Tail(10).size(), 3u);
  EXPECT_TRUE(std::filesystem::exists(file.string() + ".1"));
  EXPECT_LE(std::filesystem::file_size(file), 100u);
  std::string text = test::ReadFileBytes(file);
  EXPECT_THAT(text, HasSubstr("line 19"));
}

// A rotation that cannot move the file away (here x.log.1 is a folder; on Windows a reader without
// FILE_SHARE_DELETE) keeps appending up to twice the cap: no line is lost to the truncation of a file that was not
// moved; past that it is emptied, so the file stays bounded.
TEST(LineLog, KeepsLinesWhenTheFileCannotBeRotatedYetStaysBounded) {
  test::TempDir dir;
  auto file = dir.path() / "x.log";
  std::filesystem::create_directories(dir.path() / "x.log.1" / "keep");
  LineLog log(3, file, 100);
  for (int k = 0; k < 10; ++k) log.Add("line " + std::to_string(k) + " ..........");  // 19 bytes each: 190
  std::string text = test::ReadFileBytes(file);
  for (int k = 0; k < 10; ++k) EXPECT_THAT(text, HasSubstr("line " + std::to_string(k) + " ")) << k;
  for (int k = 10; k < 200; ++k) {
    log.Add("line " + std::to_string(k) + " ..........");
    ASSERT_LE(std::filesystem::file_size(file), 220u) << k;
  }
  EXPECT_THAT(test::ReadFileBytes(file), HasSubstr("line 199 "));
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "x.log.1" / "keep"));
}

}  // namespace
}  // namespace llmdesk::process
