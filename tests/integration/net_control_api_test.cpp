// The control API on net::HttpServer: its limits (413 body, 431 headers — both new: the cpp-httplib
// server had neither), event streams that hold no thread and end on Stop(), and the client.
#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

#include "control/control.h"
#include "support/raw_http.h"
#include "support/test_support.h"

namespace llmdesk::control {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class ControlApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    manager::Options o;
    o.config.source = (dir_.path() / "llm_backends.yaml").string();
    config::ModelConfig m;
    m.name = "m";
    m.kind = config::ModelConfig::Kind::kLocal;
    m.model = dir_.Write("model.gguf", "stand-in").string();
    m.port = 10500;
    o.config.models = {m};
    o.llama_server = test::BinPath("llmdesk-fake-engine");
    o.state_dir = dir_.path() / "state";
    o.log_dir = dir_.path() / "logs";
    auto created = manager::Manager::Create(std::move(o));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    manager_ = std::move(created).value();
    auto started = ControlServer::Start(*manager_, {.host = "127.0.0.1", .port = 0});
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value();
  }

  test::TempDir dir_;
  std::unique_ptr<manager::Manager> manager_;
  std::unique_ptr<ControlServer> server_;
};

// Before: cpp-httplib's default payload limit is unlimited, so the server went on reading the 64 MiB
// (and would have held them in memory). Now the declared length alone gets a 413.
TEST_F(ControlApiTest, A64MiBBodyIsRefusedBeforeItIsSent) {
  test::Raw c(server_->port());
  c.Send("POST /api/backends/m/start HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
         "Content-Length: " + std::to_string(64u << 20) + "\r\n\r\n");
  std::string res = c.ReadUntil("}}", 5s);
  EXPECT_EQ(test::StatusOf(res), 413) << res;
  EXPECT_NE(res.find("payload too large"), std::string::npos) << res;
  ControlClient client("127.0.0.1", server_->port());
  EXPECT_TRUE(client.Health().ok());  // still serving
}

TEST_F(ControlApiTest, TenThousandHeadersAre431AndTheNextClientIsServed) {
  std::string request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 10000; ++i) request += "X-Flood-" + std::to_string(i) + ": v\r\n";
  request += "\r\n";
  test::Raw flood(server_->port());
  flood.Send(request);
  EXPECT_EQ(test::StatusOf(flood.ReadUntil("}}")), 431);
  ControlClient c("127.0.0.1", server_->port());
  auto health = c.Health();
  ASSERT_TRUE(health.ok()) << health.status().ToString();
  EXPECT_EQ((*health)["service"], "llmdesk");
}

TEST_F(ControlApiTest, ClientCallsAndErrors) {
  ControlClient c("127.0.0.1", server_->port());
  auto backends = c.Backends();
  ASSERT_TRUE(backends.ok()) << backends.status().ToString();
  ASSERT_EQ(backends->size(), 1u);
  EXPECT_EQ((*backends)[0]["name"], "m");
  EXPECT_EQ(c.Backend("nope").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(c.Action("m", "stop").status().code(), Status::Code::kFailedPrecondition);  // already stopped
  auto logs = c.Logs("m", 5);
  ASSERT_TRUE(logs.ok()) << logs.status().ToString();
  EXPECT_EQ((*logs)["name"], "m");

  int unused = test::PickUnusedPort();
  ControlClient nobody("127.0.0.1", unused);
  EXPECT_EQ(nobody.Health().status().code(), Status::Code::kUnavailable);
}

TEST_F(ControlApiTest, EventStreamsReplayStateCancelAndEndOnStop) {
  ControlClient c("127.0.0.1", server_->port());
  std::atomic<bool> cancel{false};
  std::string first_event, first_backend;
  Status s = c.FollowEvents(
      [&](const std::string& event, const nlohmann::json& data) {
        first_event = event;
        first_backend = data.value("backend", "");
        cancel = true;  // stop after the first event, through the flag
        return true;
      },
      &cancel);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(first_event, "state");
  EXPECT_EQ(first_backend, "m");

  // More open streams than the old thread pool had threads: none of them holds a thread.
  std::vector<std::thread> followers;
  std::mutex mu;
  std::condition_variable cv;
  int got_first = 0;  // guarded by mu
  std::vector<Status> results(24);
  for (size_t i = 0; i < results.size(); ++i) {
    followers.emplace_back([&, i] {
      ControlClient client("127.0.0.1", server_->port());
      bool counted = false;
      results[i] = client.FollowEvents([&](const std::string&, const nlohmann::json&) {
        if (!counted) {
          counted = true;
          std::lock_guard lock(mu);
          ++got_first;
          cv.notify_all();
        }
        return true;
      });
    });
  }
  {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 20s, [&] { return got_first == static_cast<int>(results.size()); })) << got_first;
  }
  // The health route still answers while all those streams are open.
  EXPECT_TRUE(c.Health().ok());
  auto begin = Clock::now();
  server_->Stop();  // ends every stream: each follower returns
  for (auto& t : followers) t.join();
  EXPECT_LT(Clock::now() - begin, 5s);
  for (const auto& r : results) EXPECT_TRUE(r.ok()) << r.ToString();
}

}  // namespace
}  // namespace llmdesk::control
