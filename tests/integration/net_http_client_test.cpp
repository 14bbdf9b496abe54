// net::HttpClient against a net::HttpServer (and a listener that never answers) on 127.0.0.1:
// buffered and streamed responses, a streamed request body, cancel, timeouts, refused, size cap.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <condition_variable>
#include <thread>

#include "net/http_client.h"
#include "net/http_server.h"
#include "support/test_support.h"

namespace llmdesk::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class NetHttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.max_body_bytes = 64 << 20;
    server_ = std::make_unique<HttpServer>(options);
    server_->Route("POST", "/echo", [](Request& req) {
      Response r = Response::Text(200, req.body, "application/octet-stream");
      r.SetHeader("X-Method", req.method);
      r.SetHeader("X-Auth", req.Header("Authorization"));
      return r;
    });
    server_->Route("GET", "/big", [](Request&) { return Response::Text(200, std::string(1 << 20, 'b')); });
    server_->Route("GET", "/missing", [](Request&) { return Response::Error(404, "nope", "not found"); });
    // Three chunks, one every 20 ms, then the end.
    server_->Route("GET", "/chunks", [](Request&) {
      return Response::Stream("text/plain", [](std::shared_ptr<Stream> s) {
        for (int i = 0; i < 3; ++i) {
          s->Write("chunk" + std::to_string(i) + ";");
          std::this_thread::sleep_for(20ms);  // the producer's pace, not synchronisation
        }
        s->Close();
      });
    });
    // Headers, one chunk, then silence until the client leaves.
    server_->Route("GET", "/stall", [this](Request&) {
      return Response::Stream("text/plain", [this](std::shared_ptr<Stream> s) {
        s->Write("first");
        std::lock_guard lock(mu_);
        held_.push_back(std::move(s));
      });
    });
    ASSERT_TRUE(server_->Bind().ok());
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override { server_->Stop(); }

  std::string Url(const std::string& path) const { return server_->url() + path; }

  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Stream>> held_;
  HttpClient client_;
};

TEST_F(NetHttpClientTest, BufferedRequestsReuseTheClient) {
  for (int i = 0; i < 5; ++i) {
    HttpRequest req;
    req.method = "POST";
    req.url = Url("/echo");
    req.body = "hello " + std::to_string(i);
    req.headers = {{"Authorization", "Bearer t"}};
    auto res = client_.Send(req);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, req.body);
    EXPECT_EQ(res->Header("x-method"), "POST");
    EXPECT_EQ(res->Header("X-Auth"), "Bearer t");
  }
  HttpRequest missing;
  missing.url = Url("/missing");
  auto res = client_.Send(missing);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 404);  // an HTTP error status is a response, not an error
}

TEST_F(NetHttpClientTest, StreamedResponseArrivesInPieces) {
  HttpRequest req;
  req.url = Url("/chunks");
  int status = 0;
  std::string got;
  int pieces = 0;
  Status s = client_.Stream(
      req,
      [&](int code, const HeaderList& headers) {
        status = code;
        for (const auto& [k, v] : headers) EXPECT_FALSE(k.empty());
        return true;
      },
      [&](std::string_view chunk) {
        got.append(chunk);
        ++pieces;
        return true;
      });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(got, "chunk0;chunk1;chunk2;");
  EXPECT_GE(pieces, 2);  // delivered as it came, not at the end
}

TEST_F(NetHttpClientTest, StreamedRequestBody) {
  HttpRequest req;
  req.method = "POST";
  req.url = Url("/echo");
  size_t sent = 0;
  const size_t total = 3 << 20;
  req.body_source = [&](char* buffer, size_t capacity) {
    size_t n = std::min(capacity, total - sent);
    std::fill(buffer, buffer + n, 'z');
    sent += n;
    return n;
  };
  auto res = client_.Send(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body.size(), total);
  EXPECT_EQ(res->body.find_first_not_of('z'), std::string::npos);
}

TEST_F(NetHttpClientTest, CancelWhileWaitingForTheFirstByteReturnsAtOnce) {
  // A listener that never accepts: the connection completes in the kernel's backlog, no byte ever comes.
  int port = 0;
  UniqueFd silent = test::BindLoopbackSocket(port);
  ASSERT_EQ(::listen(silent.get(), 8), 0);
  CancelToken token;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  req.cancel = &token;
  Clock::time_point cancelled_at;
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);  // let the request reach its wait
    cancelled_at = Clock::now();
    token.Cancel();
  });
  // A second transfer on the same token, on another thread: one Cancel() ends both.
  Status other;
  Clock::time_point other_returned_at;
  std::thread second([&] {
    other = client_.Send(req).status();
    other_returned_at = Clock::now();
  });
  auto res = client_.Send(req);
  auto returned_at = Clock::now();
  canceller.join();
  second.join();
  EXPECT_EQ(res.status().code(), Status::Code::kCancelled) << res.status().ToString();
  EXPECT_LT(returned_at - cancelled_at, 1s);
  EXPECT_EQ(other.code(), Status::Code::kCancelled) << other.ToString();
  EXPECT_LT(other_returned_at - cancelled_at, 1s);
  // A token cancelled before the request starts ends it at once.
  EXPECT_EQ(client_.Send(req).status().code(), Status::Code::kCancelled);
}

TEST_F(NetHttpClientTest, TimeoutsAndIdleStreams) {
  int port = 0;
  UniqueFd silent = test::BindLoopbackSocket(port);
  ASSERT_EQ(::listen(silent.get(), 8), 0);
  HttpRequest total;
  total.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  total.timeout = 300ms;
  auto res = client_.Send(total);
  EXPECT_EQ(res.status().code(), Status::Code::kTimeout) << res.status().ToString();
  EXPECT_NE(res.status().message().find(total.url), std::string::npos);

  HttpRequest idle;
  idle.url = Url("/stall");
  idle.idle_timeout = 300ms;
  std::string got;
  Status s = client_.Stream(idle, [](int, const HeaderList&) { return true; }, [&](std::string_view c) {
    got.append(c);
    return true;
  });
  EXPECT_EQ(s.code(), Status::Code::kTimeout) << s.ToString();
  EXPECT_EQ(got, "first");
}

TEST_F(NetHttpClientTest, RefusedTooLargeAndBadUrls) {
  int port = 0;
  UniqueFd bound_not_listening = test::BindLoopbackSocket(port);
  HttpRequest refused;
  refused.url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  auto r = client_.Send(refused);
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find(refused.url), std::string::npos);

  HttpRequest big;
  big.url = Url("/big");
  big.max_response_bytes = 1000;
  EXPECT_EQ(client_.Send(big).status().code(), Status::Code::kIoError);

  HttpRequest file;
  file.url = "file:///etc/passwd";
  EXPECT_EQ(client_.Send(file).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(NetHttpClientTest, StoppingFromACallbackIsOk) {
  HttpRequest req;
  req.url = Url("/stall");
  std::string got;
  Status s = client_.Stream(req, [](int, const HeaderList&) { return true; }, [&](std::string_view c) {
    got.append(c);
    return false;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got, "first");
}

}  // namespace
}  // namespace llmdesk::net
