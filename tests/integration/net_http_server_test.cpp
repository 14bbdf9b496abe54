// net::HttpServer over real sockets on 127.0.0.1: routing, policy (with a route's own origins), limits (413,
// 431), streams (OnClose on disconnect, the max_streams bound), a pool handler told that its client left
// (Request::gone), keep-alive and pipelining, Expect: 100-continue, and Stop().
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <condition_variable>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/cancel.h"
#include "net/http_server.h"
#include "support/raw_http.h"

namespace llmdesk::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::BodyOf;
using test::Raw;
using test::StatusOf;

std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

// Waits (bounded) for a flag set by another thread.
class Flag {
 public:
  void Set() {
    std::lock_guard lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  bool WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

std::unique_ptr<HttpServer> StartServer(ServerOptions options, const std::function<void(HttpServer&)>& routes) {
  auto server = std::make_unique<HttpServer>(std::move(options));
  routes(*server);
  Status bound = server->Bind();
  EXPECT_TRUE(bound.ok()) << bound.ToString();
  EXPECT_TRUE(server->Start().ok());
  return server;
}

TEST(NetHttpServer, RoutesCapturesQueryAnd404And405) {
  auto server = StartServer({}, [](HttpServer& s) {
    s.Route("GET", "/api/items/{name}/logs", [](Request& req) {
      return Response::Json(200, {{"name", req.Param("name")}, {"lines", req.Query("lines")}, {"path", req.path}});
    });
    s.Route("GET", "/exact", [](Request&) { return Response::Text(200, "exact"); });
  });
  Raw c(server->port());
  ASSERT_TRUE(c.connected());
  c.Send(Get("/api/items/a%20b%2Fc/logs?lines=3&x=%41+b"));
  std::string r = c.ReadUntil("}");
  ASSERT_EQ(StatusOf(r), 200) << r;
  auto j = nlohmann::json::parse(BodyOf(r));
  EXPECT_EQ(j["name"], "a b/c");
  EXPECT_EQ(j["lines"], "3");
  EXPECT_EQ(j["path"], "/api/items/a b/c/logs");

  c.Clear();
  c.Send(Get("/nothing/here"));
  r = c.ReadUntil("}");
  EXPECT_EQ(StatusOf(r), 404) << r;
  EXPECT_NE(BodyOf(r).find("\"code\":\"not found\""), std::string::npos) << r;

  c.Clear();
  c.Send("POST /exact HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
  r = c.ReadUntil("}");
  EXPECT_EQ(StatusOf(r), 405) << r;
  EXPECT_NE(r.find("Allow: GET"), std::string::npos) << r;
}

TEST(NetHttpServer, PolicyRejectsForeignHostAndOriginAndChecksTheToken) {
  auto open = StartServer({}, [](HttpServer& s) { s.Route("GET", "/x", [](Request&) { return Response::Text(200, "ok"); }); });
  Raw a(open->port());
  a.Send("GET /x HTTP/1.1\r\nHost: evil.example.com\r\n\r\n");
  EXPECT_EQ(StatusOf(a.ReadUntil("}")), 403);
  Raw b(open->port());
  b.Send(Get("/x", "Origin: http://evil.example.com\r\n"));
  EXPECT_EQ(StatusOf(b.ReadUntil("}")), 403);
  Raw ok(open->port());
  ok.Send(Get("/x", "Origin: http://localhost:3000\r\n"));
  EXPECT_EQ(StatusOf(ok.ReadUntil("ok")), 200);

  ServerOptions with_token;
  with_token.token = "s3cret";
  auto locked = StartServer(with_token, [](HttpServer& s) {
    s.Route("GET", "/private", [](Request&) { return Response::Text(200, "private"); });
    s.Route("GET", "/health", [](Request&) { return Response::Text(200, "healthy"); }, {.public_route = true});
  });
  Raw none(locked->port());
  none.Send(Get("/private"));
  std::string r = none.ReadUntil("}");
  EXPECT_EQ(StatusOf(r), 401) << r;
  EXPECT_NE(r.find("WWW-Authenticate: Bearer"), std::string::npos);
  Raw wrong(locked->port());
  wrong.Send(Get("/private", "Authorization: Bearer nope\r\n"));
  EXPECT_EQ(StatusOf(wrong.ReadUntil("}")), 401);
  Raw right(locked->port());
  right.Send(Get("/private", "Authorization: Bearer s3cret\r\n"));
  EXPECT_EQ(StatusOf(right.ReadUntil("private")), 200);
  Raw pub(locked->port());
  pub.Send(Get("/health"));
  EXPECT_EQ(StatusOf(pub.ReadUntil("healthy")), 200);
  Raw pub_origin(locked->port());  // a public route still checks Origin
  pub_origin.Send(Get("/health", "Origin: http://evil.example.com\r\n"));
  EXPECT_EQ(StatusOf(pub_origin.ReadUntil("}")), 403);
}

TEST(NetHttpServer, ARoutesOwnOriginsAreAcceptedOnThatRouteOnly) {
  auto server = StartServer({}, [](HttpServer& s) {
    s.Route("GET", "/cors", [](Request&) { return Response::Text(200, "ok"); }, {.allowed_origins = {"https://app.example"}});
    s.Route("GET", "/other", [](Request&) { return Response::Text(200, "ok"); });
  });
  Raw a(server->port());
  a.Send(Get("/cors", "Origin: https://app.example\r\n"));
  EXPECT_EQ(StatusOf(a.ReadUntil("ok")), 200);
  Raw b(server->port());
  b.Send(Get("/other", "Origin: https://app.example\r\n"));
  EXPECT_EQ(StatusOf(b.ReadUntil("}")), 403);
  Raw c(server->port());
  c.Send(Get("/cors", "Origin: https://evil.example\r\n"));
  EXPECT_EQ(StatusOf(c.ReadUntil("}")), 403);
}

// The listener's own refusals on a route with cross-origin callers carry Access-Control-Allow-Origin for a
// listed origin, so a browser client sees "401" or "413" rather than an opaque CORS failure; never for others.
TEST(NetHttpServer, TheListenersOwn401And413CarryARoutesListedOrigin) {
  ServerOptions with_token;
  with_token.token = "s3cret";
  auto server = StartServer(with_token, [](HttpServer& s) {
    s.Route("POST", "/cors", [](Request&) { return Response::Text(200, "ok"); },
            {.max_body_bytes = 10, .allowed_origins = {"https://app.example"}});
  });
  auto post = [&](const std::string& headers, const std::string& body) {
    Raw c(server->port());
    c.Send("POST /cors HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + "Content-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body);
    return c.ReadUntil("}");
  };
  std::string r = post("Origin: https://app.example\r\n", "hi");
  EXPECT_EQ(StatusOf(r), 401) << r;
  EXPECT_NE(r.find("Access-Control-Allow-Origin: https://app.example\r\n"), std::string::npos) << r;
  r = post("Origin: https://app.example\r\nAuthorization: Bearer s3cret\r\n", std::string(64, 'x'));
  EXPECT_EQ(StatusOf(r), 413) << r;
  EXPECT_NE(r.find("Access-Control-Allow-Origin: https://app.example\r\n"), std::string::npos) << r;
  r = post("Origin: https://evil.example\r\n", "hi");
  EXPECT_EQ(StatusOf(r), 403) << r;
  EXPECT_EQ(r.find("Access-Control-Allow-Origin"), std::string::npos) << r;
  r = post("Authorization: Bearer s3cret\r\n", std::string(64, 'x'));  // no Origin: nothing to allow
  EXPECT_EQ(StatusOf(r), 413) << r;
  EXPECT_EQ(r.find("Access-Control-Allow-Origin"), std::string::npos) << r;
}

TEST(NetHttpServer, APoolHandlerIsToldThatItsClientLeft) {
  Flag started, noticed;
  auto server = StartServer({}, [&](HttpServer& s) {
    s.Route("GET", "/slow", [&](Request& req) {
      Flag gone;
      CancelWatch watch(req.gone, [&] { gone.Set(); });
      started.Set();
      if (gone.WaitFor(10s)) noticed.Set();
      return Response::Text(200, "late");
    });
  });
  Raw c(server->port());
  c.Send(Get("/slow"));
  ASSERT_TRUE(started.WaitFor(10s));
  c.Close();
  EXPECT_TRUE(noticed.WaitFor(5s)) << "the handler was not told that the client closed the connection";
}

TEST(NetHttpServer, ARequestPipelinedWhileAHandlerRunsIsAnsweredAfterIt) {
  Flag started, release;
  std::atomic<bool> cancelled{false};
  auto server = StartServer({}, [&](HttpServer& s) {
    s.Route("GET", "/wait", [&](Request& req) {
      started.Set();
      release.WaitFor(10s);
      cancelled = req.gone->cancelled();
      return Response::Text(200, "first");
    });
    s.Route("GET", "/x", [](Request&) { return Response::Text(200, "second"); });
  });
  Raw c(server->port());
  c.Send(Get("/wait"));
  ASSERT_TRUE(started.WaitFor(10s));
  c.Send(Get("/x"));  // arrives while /wait runs: read by the server's watch, kept for after the reply
  release.Set();
  std::string r = c.ReadUntil("second");
  const size_t first = r.find("first"), second = r.find("second");
  ASSERT_NE(first, std::string::npos) << r;
  ASSERT_NE(second, std::string::npos) << r;
  EXPECT_LT(first, second);
  EXPECT_FALSE(cancelled) << "more bytes from the client are not the client going away";
}

// A 64 MiB body is refused from its Content-Length, before any of it is sent.
TEST(NetHttpServer, BodyOverTheLimitIs413BeforeTheBodyIsRead) {
  std::atomic<int> calls{0};
  auto server = StartServer({}, [&](HttpServer& s) {
    s.Route("POST", "/in", [&](Request& req) {
      ++calls;
      return Response::Text(200, std::to_string(req.body.size()));
    });
    s.Route("POST", "/small", [&](Request&) { return Response::Text(200, "small"); }, {.max_body_bytes = 10});
  });
  Raw c(server->port());
  c.Send("POST /in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(64 << 20) + "\r\n\r\n");
  std::string r = c.ReadUntil("}");
  EXPECT_EQ(StatusOf(r), 413) << r;
  EXPECT_EQ(calls.load(), 0);

  // A chunked body (no Content-Length) is cut off at the route's limit while it is read.
  Raw chunked(server->port());
  chunked.Send("POST /small HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" +
               std::string(32, 'x') + "\r\n0\r\n\r\n");
  EXPECT_EQ(StatusOf(chunked.ReadUntil("}")), 413);

  Raw fine(server->port());
  fine.Send("POST /in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello");
  r = fine.ReadUntil("\r\n\r\n5");
  EXPECT_EQ(StatusOf(r), 200) << r;
}

TEST(NetHttpServer, HeaderFloodIs431AndTheServerKeepsServing) {
  auto server = StartServer({}, [](HttpServer& s) { s.Route("GET", "/x", [](Request&) { return Response::Text(200, "ok"); }); });
  {
    Raw flood(server->port());
    std::string request = "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (int i = 0; i < 10000; ++i) request += "X-H" + std::to_string(i) + ": v\r\n";
    request += "\r\n";
    flood.Send(request);  // the server may close before taking all of it
    EXPECT_EQ(StatusOf(flood.ReadUntil("}")), 431);
  }
  {
    Raw big(server->port());
    big.Send("GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n");
    EXPECT_EQ(StatusOf(big.ReadUntil("}")), 431);
  }
  Raw next(server->port());
  next.Send(Get("/x"));
  EXPECT_EQ(StatusOf(next.ReadUntil("ok")), 200);
}

TEST(NetHttpServer, KeepAliveServesManyRequestsOnOneConnectionAndAnswersExpectContinue) {
  auto server = StartServer({}, [](HttpServer& s) {
    s.Route("POST", "/echo", [](Request& req) { return Response::Text(200, req.body); }, {.inline_handler = true});
    s.Route("GET", "/deferred", [](Request&) {
      return Response::Defer([] { return Response::Text(200, "later"); });
    }, {.inline_handler = true});
  });
  Raw c(server->port());
  for (int i = 0; i < 50; ++i) {
    c.Clear();
    std::string body = "body-" + std::to_string(i);
    ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\n\r\n" + body));
    std::string r = c.ReadUntil(body);
    ASSERT_EQ(StatusOf(r), 200) << r;
    ASSERT_EQ(BodyOf(r), body);
  }
  c.Clear();
  c.Send(Get("/deferred"));
  EXPECT_EQ(BodyOf(c.ReadUntil("later")), "later");

  c.Clear();
  c.Send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  EXPECT_NE(c.ReadUntil("100 Continue\r\n\r\n").find("HTTP/1.1 100 Continue"), std::string::npos);
  c.Send("data");
  std::string r = c.ReadUntil("data");
  EXPECT_NE(r.find("HTTP/1.1 200 OK"), std::string::npos) << r;
}

TEST(NetHttpServer, StreamOnCloseFiresWhenTheClientDisconnects) {
  Flag closed, started;
  std::shared_ptr<Stream> kept;
  std::mutex mu;
  auto server = StartServer({}, [&](HttpServer& s) {
    s.Route("GET", "/events", [&](Request&) {
      return Response::Stream("text/event-stream", [&](std::shared_ptr<Stream> stream) {
        stream->OnClose([&] { closed.Set(); });
        stream->Write("data: hello\n\n");
        {
          std::lock_guard lock(mu);
          kept = stream;  // handed off: no thread waits on this stream
        }
        started.Set();
      });
    });
  });
  Raw c(server->port());
  c.Send(Get("/events"));
  std::string r = c.ReadUntil("hello");
  EXPECT_NE(r.find("Transfer-Encoding: chunked"), std::string::npos) << r;
  ASSERT_TRUE(started.WaitFor(10s));
  EXPECT_EQ(server->open_streams(), 1u);
  c.Close();
  EXPECT_TRUE(closed.WaitFor(5s));  // noticed through the pending read, not at the next write
  std::lock_guard lock(mu);
  EXPECT_FALSE(kept->Write("data: late\n\n"));
  EXPECT_TRUE(kept->closed());
}

TEST(NetHttpServer, MoreStreamsThanTheBoundGet503AndTheOthersContinue) {
  ServerOptions options;
  options.max_streams = 2;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::shared_ptr<Stream>> streams;
  auto server = StartServer(options, [&](HttpServer& s) {
    s.Route("GET", "/events", [&](Request&) {
      return Response::Stream("text/event-stream", [&](std::shared_ptr<Stream> stream) {
        std::lock_guard lock(mu);
        streams.push_back(std::move(stream));
        cv.notify_all();
      });
    });
  });
  Raw a(server->port()), b(server->port());
  a.Send(Get("/events"));
  b.Send(Get("/events"));
  a.ReadUntil("chunked\r\n");
  b.ReadUntil("chunked\r\n");
  Raw third(server->port());
  third.Send(Get("/events"));
  std::string r = third.ReadUntil("}");
  EXPECT_EQ(StatusOf(r), 503) << r;
  EXPECT_NE(r.find("Retry-After: 1"), std::string::npos);
  {
    std::unique_lock lock(mu);  // the start functions run on the pool, after the headers went out
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return streams.size() == 2; })) << streams.size();
    for (auto& s : streams) EXPECT_TRUE(s->Write("data: still here\n\n"));
    streams[0]->Close();
  }
  EXPECT_NE(a.ReadUntil("0\r\n\r\n").find("still here"), std::string::npos);
  EXPECT_NE(b.ReadUntil("still here").find("still here"), std::string::npos);
  // The closed stream's slot is free again.
  Raw fourth(server->port());
  fourth.Send(Get("/events"));
  EXPECT_EQ(StatusOf(fourth.ReadUntil("chunked\r\n")), 200);
}

TEST(NetHttpServer, StopRightAfterStartAndWithOpenStreamsReturnsPromptly) {
  for (int i = 0; i < 20; ++i) {
    HttpServer server(ServerOptions{});
    ASSERT_TRUE(server.Bind().ok());
    ASSERT_TRUE(server.Start().ok());
    server.Stop();
    server.Stop();  // idempotent
  }
  Flag closed;
  auto server = StartServer({}, [&](HttpServer& s) {
    s.Route("GET", "/events", [&](Request&) {
      return Response::Stream("text/event-stream", [&](std::shared_ptr<Stream> stream) {
        stream->OnClose([&] { closed.Set(); });
      });
    });
    s.Route("GET", "/x", [](Request&) { return Response::Text(200, "ok"); });
  });
  Raw stream(server->port()), idle(server->port());
  stream.Send(Get("/events"));
  stream.ReadUntil("chunked\r\n");
  idle.Send(Get("/x"));
  idle.ReadUntil("ok");  // now an idle keep-alive connection
  auto begin = Clock::now();
  server->Stop();
  EXPECT_LT(Clock::now() - begin, 3s);  // no wait for the keep-alive timeout
  EXPECT_TRUE(closed.WaitFor(0ms));
}

TEST(NetHttpServer, BindNamesTheHolderOfATakenPort) {
  HttpServer first(ServerOptions{});
  ASSERT_TRUE(first.Bind().ok());
  ServerOptions same;
  same.port = first.port();
  HttpServer second(same);
  Status s = second.Bind();
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_NE(s.message().find("is held by PID " + std::to_string(::getpid())), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("kill " + std::to_string(::getpid())), std::string::npos) << s.message();
}

}  // namespace
}  // namespace llmdesk::net
