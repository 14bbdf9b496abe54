// stdio transport: newline-delimited JSON-RPC through a bounded queue (see stdio_transport.h).
#include "mcp/stdio_transport.h"

#include <condition_variable>
#include <deque>
#include <thread>

#include <spdlog/spdlog.h>

#include "mcp/stdio_io.h"

namespace llmdesk::mcp {
namespace {

class LineWriter : public Peer {
 public:
  explicit LineWriter(int fd) : fd_(fd) {}
  void Send(const json& message) override { WriteLine(DumpWire(message)); }
  void WriteLine(std::string line) {
    line += '\n';
    std::lock_guard lock(mu_);
    (void)WriteAll(fd_, line);  // false: the client went away; nothing sensible to do with the reply
  }

 private:
  int fd_;
  std::mutex mu_;
};

// Lines waiting for the worker, bounded in lines and bytes; Close() lets it drain and stop.
class LineQueue {
 public:
  // Waits while the queue is full (an empty queue takes any line); false if `stop` turned true first.
  bool Push(std::string line, const std::atomic<bool>* stop) {
    {
      std::unique_lock lock(mu_);
      auto fits = [&] {
        return lines_.empty() ||
               (lines_.size() < kStdioMaxQueuedLines && bytes_ + line.size() <= kStdioMaxQueuedBytes);
      };
      // `stop` is a plain flag nobody notifies on: look at it a few times a second, as the read loop does.
      while (!cv_.wait_for(lock, std::chrono::milliseconds(200), fits)) {
        if (stop && stop->load()) return false;
      }
      bytes_ += line.size();
      lines_.push_back(std::move(line));
    }
    cv_.notify_all();
    return true;
  }
  void Close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  std::optional<std::string> Pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !lines_.empty(); });
    if (lines_.empty()) return std::nullopt;
    std::string line = std::move(lines_.front());
    lines_.pop_front();
    bytes_ -= line.size();
    lock.unlock();
    cv_.notify_all();  // the reader may be waiting for room
    return line;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  size_t bytes_ = 0;
  bool closed_ = false;
};

bool IsClientReply(const json& msg) {
  return msg.is_object() && !msg.contains("method") && msg.contains("id") &&
         (msg.contains("result") || msg.contains("error"));
}

bool IsCancellation(const json& msg) {
  auto method = msg.find("method");
  return msg.is_object() && method != msg.end() && *method == "notifications/cancelled" && !msg.contains("id");
}

}  // namespace

Status RunStdio(Server& server, int in_fd, int out_fd, const std::atomic<bool>* stop) {
  LineWriter writer(out_fd);
  LineQueue queue;
  std::thread worker([&] {
    Incoming context;  // keeps the stdio session between messages
    context.peer = &writer;
    while (auto line = queue.Pop()) {
      try {
        if (auto reply = server.Handle(*line, context)) writer.WriteLine(std::move(*reply));
      } catch (const std::exception& e) {  // never leave a client waiting for an answer
        spdlog::error("mcp-stdio: {}", e.what());
        writer.WriteLine(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error"}})");
      }
    }
  });

  std::string buffer;
  bool discarding = false;  // inside an over-long line: drop bytes until its newline
  Incoming reader_context;  // for notifications/cancelled: no session, as the stdio session has no id
  auto take_line = [&](std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) return true;
    json msg;
    if (!ParseWire(line, msg)) {
      if (IsClientReply(msg)) {
        server.DeliverClientReply(msg, nullptr);
        return true;
      }
      if (IsCancellation(msg)) {  // must reach the request the worker is running now
        reader_context.message = std::move(msg);
        server.Dispatch(reader_context);
        return true;
      }
    }
    return queue.Push(std::move(line), stop);
  };
  Status status;
  char chunk[65536];
  InputReader input(in_fd, stop);
  while (!(stop && stop->load())) {
    auto read = input.Read(chunk, sizeof(chunk));
    if (!read.ok()) {
      status = read.status();
      break;
    }
    const size_t n = *read;
    if (n == 0) break;  // end of input: the client is done (or stopped)
    for (size_t i = 0; i < n; ++i) {
      char c = chunk[i];
      if (c == '\n') {
        bool taken = discarding || take_line(std::move(buffer));
        buffer.clear();
        discarding = false;
        if (!taken) break;  // stopped while waiting for room
      } else if (!discarding) {
        buffer.push_back(c);
        if (buffer.size() > kStdioMaxLineBytes) {
          writer.Send(ErrorReply(nullptr, {rpc::kParseError, "Parse error: message longer than 4 MiB", nullptr}));
          buffer.clear();
          discarding = true;
        }
      }
    }
  }
  if (!discarding && !buffer.empty() && !(stop && stop->load())) take_line(std::move(buffer));
  queue.Close();
  worker.join();
  return status;
}

}  // namespace llmdesk::mcp
