// The stdio transport's bounded line queue: while a request runs, the reader queues only a bounded amount
// of what the client sends and then stops reading stdin, so the client's writes block (back-pressure
// through the pipe) instead of the server's memory growing; once the request finishes, every queued and
// blocked line is still answered, in order.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <set>
#include <sstream>
#include <thread>

#include "common/unique_fd.h"
#include "mcp/stdio_transport.h"
#include "tools/tools.h"

namespace llmdesk::mcp {
namespace {

// Holds a running tool until the test opens it (bounded, so a failing test cannot hang).
class Gate {
 public:
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return open_; });
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

struct Pipe {
  UniqueFd read, write;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    read.reset(fds[0]);
    write.reset(fds[1]);
  }
};

// Writes all of `text`; false when the pipe stays full for `patience` (the reader stopped reading).
bool WriteAll(int fd, std::string_view& text, std::chrono::milliseconds patience) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n > 0) {
      text.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    pollfd pfd{fd, POLLOUT, 0};
    if (poll(&pfd, 1, static_cast<int>(patience.count())) == 0) return false;
  }
  return true;
}

TEST(McpStdioQueue, ReaderStopsReadingWhileTheQueueIsFullAndLosesNothing) {
  Gate gate;
  tools::Registry registry;
  tools::Tool block;
  block.name = "block";
  block.input_schema = {{"type", "object"}};
  block.run = [&gate](const json&, const tools::CallContext&) {
    gate.Wait();
    return tools::ToolResult::Text("released");
  };
  ASSERT_TRUE(registry.Add(std::move(block)).ok());
  Server server(registry);

  Pipe in, out;
  ASSERT_EQ(fcntl(in.write.get(), F_SETFL, O_NONBLOCK), 0);
  std::string output;
  std::thread collector([&] {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(out.read.get(), buf, sizeof(buf))) > 0) output.append(buf, static_cast<size_t>(n));
  });
  Status ran;
  std::thread stdio([&] {
    ran = RunStdio(server, in.read.get(), out.write.get());
    out.write.reset();  // lets the collector see end of file
  });

  std::string first = R"({"jsonrpc":"2.0","id":0,"method":"tools/call","params":{"name":"block"}})" "\n";
  std::string_view rest = first;
  ASSERT_TRUE(WriteAll(in.write.get(), rest, std::chrono::seconds(10)));

  // 1 KiB pings, up to 16 MiB of them: far more than the queue may hold while the tool runs.
  const std::string pad(1000, 'x');
  const int max_lines = 16 * 1024;
  int written = 0;
  bool blocked = false;
  std::string line;
  for (int id = 1; id <= max_lines; ++id) {
    line = json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "ping"}, {"params", {{"pad", pad}}}}.dump() + "\n";
    rest = line;
    if (!WriteAll(in.write.get(), rest, std::chrono::milliseconds(500))) {
      blocked = true;
      break;
    }
    ++written;
  }
  EXPECT_TRUE(blocked) << "the reader took all " << max_lines << " lines (" << (max_lines >> 10)
                       << " MiB) while one request ran: its queue is unbounded";
  EXPECT_LT(written, 2048) << "more than 2 MiB were taken from the pipe while one request ran";

  gate.Open();
  if (blocked) {  // the rest of the line the pipe refused goes through once the worker drains the queue
    ASSERT_TRUE(WriteAll(in.write.get(), rest, std::chrono::seconds(30)));
    ++written;
  }
  in.write.reset();  // end of input: RunStdio answers what is queued and returns
  stdio.join();
  collector.join();
  EXPECT_TRUE(ran.ok()) << ran.ToString();

  std::istringstream replies(output);
  std::set<int> answered;
  bool released = false;
  while (std::getline(replies, line)) {
    json reply = json::parse(line, nullptr, false);
    ASSERT_TRUE(reply.is_object()) << line;
    ASSERT_TRUE(reply.contains("result")) << line;
    int id = reply["id"].get<int>();
    if (id == 0) released = reply["result"]["content"][0]["text"] == "released";
    answered.insert(id);
  }
  EXPECT_TRUE(released);
  EXPECT_EQ(answered.size(), static_cast<size_t>(written) + 1) << "every request written must be answered";
}


// The worker is busy with the very request to cancel, so the reader delivers notifications/cancelled
// itself instead of queueing it behind that request.
TEST(McpStdioQueue, CancelledNotificationReachesTheRunningRequest) {
  Gate started;
  tools::Registry registry;
  tools::Tool wait;
  wait.name = "wait_for_cancel";
  wait.input_schema = {{"type", "object"}};
  wait.run = [&started](const json&, const tools::CallContext& ctx) {
    started.Open();
    auto give_up = Clock::now() + std::chrono::seconds(30);
    while (!ctx.cancelled() && Clock::now() < give_up) std::this_thread::yield();
    return tools::ToolResult::Text(ctx.cancelled() ? "cancelled" : "not cancelled");
  };
  ASSERT_TRUE(registry.Add(std::move(wait)).ok());
  Server server(registry);
  Pipe in, out;
  std::thread stdio([&] { (void)RunStdio(server, in.read.get(), out.write.get()); });

  std::string call = R"({"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"wait_for_cancel"}})" "\n";
  std::string_view rest = call;
  ASSERT_TRUE(WriteAll(in.write.get(), rest, std::chrono::seconds(10)));
  started.Wait();
  std::string cancel = R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c1"}})" "\n";
  rest = cancel;
  ASSERT_TRUE(WriteAll(in.write.get(), rest, std::chrono::seconds(10)));
  in.write.reset();
  stdio.join();
  out.write.reset();
  std::string output;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out.read.get(), buf, sizeof(buf))) > 0) output.append(buf, static_cast<size_t>(n));
  json reply = json::parse(output, nullptr, false);
  ASSERT_TRUE(reply.is_object()) << output;
  EXPECT_EQ(reply["result"]["content"][0]["text"], "cancelled");
}

}  // namespace
}  // namespace llmdesk::mcp
