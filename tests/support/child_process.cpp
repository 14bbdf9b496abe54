#include "support/child_process.h"

#include <poll.h>

#include <algorithm>
#include <fstream>

#include <httplib.h>

#include "net/ports.h"
#include "support/test_support.h"

namespace llmdesk::test {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log_file)
    : log_file_(log_file),
      process_(SpawnProcess({.argv = argv, .in = Stdio::Null(), .out = Stdio::File(log_file), .err = Stdio::Merge()})) {}

ChildProcess::~ChildProcess() { Stop(); }

bool ChildProcess::Exited() const { return process_.Exited(); }

std::string ChildProcess::Describe() const {
  auto code = process_.Wait(std::chrono::milliseconds(0));
  if (!code) return "running";
  if (*code >= 128) return "killed by signal " + std::to_string(*code - 128);
  return "exited with code " + std::to_string(*code);
}

std::string ChildProcess::Stop(std::chrono::milliseconds grace) {
  process_.Stop(grace);
  return Describe();
}

std::string ChildProcess::LogTail(size_t max_bytes) const {
  std::string text = ReadFileBytes(log_file_);
  return text.size() > max_bytes ? "…" + text.substr(text.size() - max_bytes) : text;
}

testing::AssertionResult WaitForHttp200(int port, const std::string& path, std::chrono::milliseconds timeout,
                                        const ChildProcess* child) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::milliseconds(200));
  client.set_read_timeout(std::chrono::seconds(2));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto interval = std::chrono::milliseconds(10);
  std::string last = "no answer";
  for (;;) {
    if (child && child->Exited())
      return testing::AssertionFailure() << "the child " << child->Describe() << " before GET " << path
                                         << " answered 200; its log:\n" << child->LogTail();
    if (auto res = client.Get(path)) {
      if (res->status == 200) return testing::AssertionSuccess();
      last = "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 200);
    } else {
      last = httplib::to_string(res.error());
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    auto wait = std::min(interval, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    pollfd pfd{child ? child->pidfd() : -1, POLLIN, 0};  // fd -1 is ignored by poll: a plain timed wait
    poll(&pfd, 1, static_cast<int>(wait.count()));
    interval = std::min(interval * 2, std::chrono::milliseconds(100));
  }
  auto failure = testing::AssertionFailure() << "GET 127.0.0.1:" << port << path << " gave no 200 within "
                                             << timeout.count() << " ms (last: " << last << ")";
  if (child) failure << "; the child is " << child->Describe() << "; its log:\n" << child->LogTail();
  return failure;
}

std::unique_ptr<ChildProcess> HoldPort(const std::filesystem::path& log_dir, int port) {
  auto holder = std::make_unique<ChildProcess>(
      std::vector<std::string>{BinPath("llmdesk-fake-engine").string(), "--listen-only", std::to_string(port)},
      log_dir / ("holder-" + std::to_string(port) + ".log"));
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
       std::chrono::steady_clock::now() < deadline;) {
    auto h = net::FindPortHolder(port);
    if (h && h->pid == holder->pid()) return holder;
    pollfd p{holder->pidfd(), POLLIN, 0};
    if (poll(&p, 1, 2) > 0) break;  // the holder exited
  }
  ADD_FAILURE() << "the port holder did not come up on " << port << ": " << holder->Describe() << "\n"
                << holder->LogTail();
  return holder;
}

std::string MakeAnswerAfterToolModel(const std::filesystem::path& dir) {
  auto model = dir / "answer.gguf";
  auto r = RunCommand({BinPath("llmdesk-testmodel").string(), "--out", model.string(), "--tool-call", "calculator",
                       R"({"expression":"2+2"})", "--answer-after-tool", "The sum is "},
                      std::chrono::seconds(120));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? model.string() : "";
}

}  // namespace llmdesk::test
