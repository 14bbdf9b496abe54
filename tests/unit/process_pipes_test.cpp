// process::Child in Stdio::kPipes mode (a stdio MCP server's shape: stdin and stdout as pipes, stderr
// apart), the SIGPIPE-free stdin write, and FindProgram — with real processes.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "process/process.h"
#include "support/test_support.h"

namespace llmdesk::process {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

bool WaitReady(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

// Writes all of `data` to the child's stdin, waiting for room (bounded).
Status WriteAll(Child& child, std::string_view data) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!data.empty() && std::chrono::steady_clock::now() < deadline) {
    auto n = child.WriteStdin(data);
    if (!n.ok()) return n.status();
    data.remove_prefix(*n);
    if (!data.empty()) WaitReady(child.stdin_fd(), POLLOUT, 100ms);
  }
  return data.empty() ? Status::Ok() : Status::Timeout("stdin stayed full");
}

// The first complete line the child prints on stdout (raw reads of the non-blocking fd), bounded.
std::string ReadStdoutLine(Child& child, std::chrono::milliseconds timeout = 10s) {
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (text.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    if (!WaitReady(child.stdout_fd(), POLLIN, 100ms)) continue;
    char buffer[4096];
    ssize_t n = read(child.stdout_fd(), buffer, sizeof(buffer));
    if (n == 0) break;
    if (n > 0) text.append(buffer, static_cast<size_t>(n));
  }
  return text.substr(0, text.find('\n'));
}

std::vector<std::string> ReadAllLines(Child& child, bool errors) {
  std::vector<std::string> lines;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  bool open = true;
  while (open && std::chrono::steady_clock::now() < deadline) {
    int fd = errors ? child.stderr_fd() : child.stdout_fd();
    if (!WaitReady(fd, POLLIN, 100ms)) continue;
    auto add = [&](std::string_view l) { lines.emplace_back(l); };
    open = errors ? child.ReadErrors(add) : child.ReadOutput(add);
  }
  return lines;
}

ExitStatus WaitExit(Child& child) {
  EXPECT_TRUE(WaitReady(child.pidfd(), POLLIN, 10s));
  return child.TryReap().value_or(ExitStatus{});
}

TEST(ChildPipes, CatEchoesWhatItReadsAndExitsAtEndOfInput) {
  auto child = Child::Spawn({.argv = {"cat"}, .stdio = SpawnSpec::Stdio::kPipes});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  Child& cat = **child;
  // Our ends: stdin write end non-blocking, every end close-on-exec.
  ASSERT_GE(cat.stdin_fd(), 0);
  ASSERT_GE(cat.stderr_fd(), 0);
  EXPECT_TRUE(fcntl(cat.stdin_fd(), F_GETFL) & O_NONBLOCK);
  for (int fd : {cat.stdin_fd(), cat.stdout_fd(), cat.stderr_fd()}) EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  const std::string request = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
  ASSERT_TRUE(WriteAll(cat, request + "\n").ok());
  EXPECT_EQ(ReadStdoutLine(cat), request);
  cat.CloseStdin();
  EXPECT_EQ(cat.stdin_fd(), -1);
  EXPECT_EQ(WaitExit(cat).code, 0);  // cat saw EOF
  EXPECT_EQ(cat.WriteStdin("x").status().code(), Status::Code::kFailedPrecondition);
}

TEST(ChildPipes, StderrStaysApartFromStdout) {
  auto child = Child::Spawn({.argv = {"sh", "-c", "echo to-stdout; echo to-stderr >&2; echo more-stdout"},
                             .stdio = SpawnSpec::Stdio::kPipes});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  EXPECT_THAT(ReadAllLines(**child, /*errors=*/false), ElementsAre("to-stdout", "more-stdout"));
  EXPECT_THAT(ReadAllLines(**child, /*errors=*/true), ElementsAre("to-stderr"));
  EXPECT_EQ(WaitExit(**child).code, 0);
}

TEST(ChildPipes, SpeaksJsonRpcWithTheMcpStdioServer) {
  auto child = Child::Spawn({.argv = {test::BinPath("llmdesk").string(), "mcp-stdio"},
                             .env = {{"LLMDESK_CONFIG", ""}},
                             .stdio = SpawnSpec::Stdio::kPipes});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  ASSERT_TRUE(WriteAll(**child, R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":)"
                                R"({"name":"calculator","arguments":{"expression":"2+2"}}})" "\n").ok());
  auto reply = nlohmann::json::parse(ReadStdoutLine(**child), nullptr, false);
  ASSERT_TRUE(reply.is_object()) << reply;
  EXPECT_EQ(reply["id"], 7);
  EXPECT_EQ(reply["result"]["content"][0]["text"], "4") << reply;
  (*child)->CloseStdin();
  EXPECT_EQ(WaitExit(**child).code, 0);
}

TEST(ChildPipes, WritingToADeadChildIsAnErrorNotASigpipe) {
  // SIGPIPE's default action kills this process: the write helper must never let it through.
  struct sigaction dfl {}, old {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &dfl, &old);
  auto child = Child::Spawn({.argv = {"true"}, .stdio = SpawnSpec::Stdio::kPipes});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  WaitExit(**child);  // gone: nobody holds the read end of its stdin any more
  auto written = (*child)->WriteStdin("hello\n");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(written.status().message(), testing::HasSubstr("closed its stdin or exited"));
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));  // consumed, not left for later
  sigaction(SIGPIPE, &old, nullptr);
}

TEST(ChildPipes, MergedModeKeepsItsShape) {
  auto child = Child::Spawn({.argv = {"sh", "-c", "echo a; echo b >&2"}});
  ASSERT_TRUE(child.ok());
  EXPECT_EQ((*child)->stdin_fd(), -1);
  EXPECT_EQ((*child)->stderr_fd(), -1);
  EXPECT_FALSE((*child)->ReadErrors([](std::string_view) {}));
  EXPECT_THAT(ReadAllLines(**child, false), ElementsAre("a", "b"));
  EXPECT_EQ((*child)->WriteStdin("x").status().code(), Status::Code::kFailedPrecondition);
  WaitExit(**child);
}

TEST(FindProgram, SearchesThePathInOrder) {
  test::TempDir dir;
  auto plain = dir.Write("bin1/tool", "#!/bin/sh\n");  // not executable: skipped
  auto runnable = dir.Write("bin2/tool", "#!/bin/sh\n");
  ASSERT_EQ(chmod(runnable.c_str(), 0755), 0);
  const std::string path = "::" + (dir.path() / "nope").string() + ":" + (dir.path() / "bin1").string() + ":" +
                           (dir.path() / "bin2").string();
  EXPECT_EQ(FindProgram("tool", path), runnable);
  EXPECT_EQ(FindProgram("tool", ""), std::nullopt);
  EXPECT_EQ(FindProgram(runnable.string(), ""), runnable);  // a path names itself
  EXPECT_EQ(FindProgram(plain.string(), path), std::nullopt);
  EXPECT_EQ(FindProgram("", path), std::nullopt);
  EXPECT_EQ(FindProgram("sh", "/nonexistent:/bin"), std::filesystem::path("/bin/sh"));
  // Longer than the system allows: not found, never a filesystem_error.
  EXPECT_EQ(FindProgram(std::string(5000, 'x'), path), std::nullopt);
  EXPECT_EQ(FindProgram("/" + std::string(300, 'x') + "/tool", ""), std::nullopt);
}

}  // namespace
}  // namespace llmdesk::process
