// The MCP Streamable HTTP transport on a real socket (127.0.0.1, a port the kernel picks): security
// checks, status codes, sessions, SSE streaming, stateless requests and hostile calculator input.
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <thread>

#include "mcp/fixtures/fixtures.h"
#include "mcp/http_transport.h"
#include "net/http_policy.h"
#include "support/raw_http.h"
#include "tools/tools.h"

namespace llmdesk::mcp {
namespace {

// A real HttpServer on its own thread; stopped and joined on destruction.
class RunningServer {
 public:
  explicit RunningServer(HttpOptions options = {}, bool fixtures = true, ServerOptions server_options = {})
      : registry_(tools::BuiltinTools(config_tools())),
        server_(registry_, fixtures ? MakeConformanceFixtures() : nullptr, std::move(server_options)) {
    options.port = 0;
    http_ = std::make_unique<HttpServer>(server_, options);
    Status bound = http_->Bind();
    if (!bound.ok()) throw std::runtime_error(bound.ToString());
    thread_ = std::thread([this] { (void)http_->Run(); });
  }
  ~RunningServer() {
    http_->Stop();
    thread_.join();
  }
  int port() const { return http_->port(); }
  Server& server() { return server_; }

 private:
  static std::vector<std::string> config_tools() { return {"calculator", "get_time", "convert_units"}; }
  tools::Registry registry_;
  Server server_;
  std::unique_ptr<HttpServer> http_;
  std::thread thread_;
};

httplib::Headers JsonHeaders(httplib::Headers extra = {}) {
  httplib::Headers h = {{"Accept", "application/json, text/event-stream"}};
  h.insert(extra.begin(), extra.end());
  return h;
}

class McpHttpTest : public ::testing::Test {
 protected:
  RunningServer running;
  httplib::Client client{"127.0.0.1", running.port()};

  void SetUp() override {
    client.set_tcp_nodelay(true);
    client.set_read_timeout(std::chrono::seconds(30));
  }

  httplib::Result Post(const json& body, httplib::Headers headers = JsonHeaders()) {
    return client.Post("/mcp", headers, body.dump(), "application/json");
  }

  std::string Initialize() {
    auto res = Post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                     {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()},
                                 {"clientInfo", {{"name", "test"}, {"version", "1"}}}}}});
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << res->body;
    std::string id = res->get_header_value("Mcp-Session-Id");
    EXPECT_EQ(id.size(), 32u);
    auto ack = Post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}},
                    JsonHeaders({{"Mcp-Session-Id", id}, {"MCP-Protocol-Version", "2025-11-25"}}));
    EXPECT_TRUE(ack && ack->status == 202);
    return id;
  }

  json Calculate(const std::string& session, const std::string& expression) {
    auto res = Post({{"jsonrpc", "2.0"}, {"id", 7}, {"method", "tools/call"},
                     {"params", {{"name", "calculator"}, {"arguments", {{"expression", expression}}}}}},
                    JsonHeaders({{"Mcp-Session-Id", session}}));
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200);
    return json::parse(res->body);
  }
};

TEST_F(McpHttpTest, InitializeListAndCallOverASession) {
  std::string session = Initialize();
  auto list = Post({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/list"}}, JsonHeaders({{"Mcp-Session-Id", session}}));
  ASSERT_TRUE(list);
  EXPECT_EQ(list->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(json::parse(list->body)["result"]["tools"][0]["name"], "calculator");
  EXPECT_EQ(Calculate(session, "2+2")["result"]["content"][0]["text"], "4");
}

TEST_F(McpHttpTest, ForeignOriginIsForbidden) {
  std::string session = Initialize();
  auto res = Post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}},
                  JsonHeaders({{"Mcp-Session-Id", session}, {"Origin", "http://evil.example.com"}}));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  auto local = Post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}},
                    JsonHeaders({{"Mcp-Session-Id", session}, {"Origin", "http://localhost:3000"}}));
  ASSERT_TRUE(local);
  EXPECT_EQ(local->status, 200);
}

TEST_F(McpHttpTest, ForeignHostIsForbidden) {
  auto res = Post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"}},
                  JsonHeaders({{"Host", "evil.example.com"}}));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
}

TEST_F(McpHttpTest, MissingAcceptTypesAre406) {
  auto res = Post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, {{"Accept", "application/json"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 406);
  auto sse_only = Post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, {{"Accept", "text/event-stream"}});
  ASSERT_TRUE(sse_only);
  EXPECT_EQ(sse_only->status, 406);
  auto html = Post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, {{"Accept", "text/html"}});
  ASSERT_TRUE(html);
  EXPECT_EQ(html->status, 406);
}

TEST_F(McpHttpTest, UnknownOrDeletedSessionIs404) {
  auto res = Post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}},
                  JsonHeaders({{"Mcp-Session-Id", "00000000000000000000000000000000"}}));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);

  std::string session = Initialize();
  auto del = client.Delete("/mcp", JsonHeaders({{"Mcp-Session-Id", session}}));
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  auto after = Post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, JsonHeaders({{"Mcp-Session-Id", session}}));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 404);
}

TEST_F(McpHttpTest, NoSessionIs400) {
  auto res = Post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(McpHttpTest, WrongProtocolHeaderIs400) {
  std::string session = Initialize();
  auto res = Post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}},
                  JsonHeaders({{"Mcp-Session-Id", session}, {"MCP-Protocol-Version", "1999-01-01"}}));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(McpHttpTest, MalformedJsonIs400WithParseError) {
  auto res = client.Post("/mcp", JsonHeaders(), "{not json", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["error"]["code"], -32700);
}

TEST_F(McpHttpTest, GetIs405AndDeleteWithoutSessionIs400) {
  auto get = client.Get("/mcp", JsonHeaders());
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  auto del = client.Delete("/mcp", JsonHeaders());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 400);
}

TEST_F(McpHttpTest, ProgressStreamsAsServerSentEvents) {
  std::string session = Initialize();
  auto res = Post({{"jsonrpc", "2.0"}, {"id", 5}, {"method", "tools/call"},
                   {"params", {{"name", "test_tool_with_progress"}, {"arguments", json::object()},
                               {"_meta", {{"progressToken", "p-1"}}}}}},
                  JsonHeaders({{"Mcp-Session-Id", session}}));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  std::vector<json> events;
  std::istringstream lines(res->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("data: ", 0) == 0) events.push_back(json::parse(line.substr(6)));
  }
  ASSERT_EQ(events.size(), 4u) << res->body;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i]["method"], "notifications/progress");
    EXPECT_EQ(events[i]["params"]["progressToken"], "p-1");
  }
  EXPECT_EQ(events[3]["id"], 5);
  EXPECT_TRUE(events[3].contains("result"));
}

TEST_F(McpHttpTest, HostileCalculatorInputReturnsErrorResults) {
  std::string session = Initialize();
  std::string deep = std::string(1000, '(') + "1" + std::string(1000, ')');
  std::string digits(1000000, '7');
  std::string nul = std::string("1+") + '\0' + "2";
  for (const std::string& expression : {deep, std::string("9^9^9^9"), digits, nul, std::string("foo(1)")}) {
    json reply = Calculate(session, expression);
    ASSERT_TRUE(reply.contains("result")) << reply.dump().substr(0, 200);
    EXPECT_EQ(reply["result"]["isError"], true) << expression.substr(0, 40);
  }
  EXPECT_EQ(Calculate(session, "2+2")["result"]["content"][0]["text"], "4");  // still serving
}

TEST_F(McpHttpTest, StatelessRequestsCheckTheirHeaders) {
  json meta = {{kMetaProtocolVersion, kVersionStateless}, {kMetaClientCapabilities, json::object()}};
  json body = {{"jsonrpc", "2.0"}, {"id", 11}, {"method", "tools/call"},
               {"params", {{"name", "calculator"}, {"arguments", {{"expression", "6*7"}}}, {"_meta", meta}}}};
  httplib::Headers good = JsonHeaders({{"MCP-Protocol-Version", kVersionStateless}, {"Mcp-Method", "tools/call"},
                                       {"Mcp-Name", "calculator"}});
  auto ok = Post(body, good);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  json reply = json::parse(ok->body);
  EXPECT_EQ(reply["result"]["content"][0]["text"], "42");
  EXPECT_EQ(reply["result"]["resultType"], "complete");

  auto wrong_name = Post(body, JsonHeaders({{"MCP-Protocol-Version", kVersionStateless}, {"Mcp-Method", "tools/call"},
                                            {"Mcp-Name", "get_time"}}));
  ASSERT_TRUE(wrong_name);
  EXPECT_EQ(wrong_name->status, 400);
  EXPECT_EQ(json::parse(wrong_name->body)["error"]["code"], -32020);

  body["params"]["_meta"][kMetaProtocolVersion] = "2030-01-01";
  auto unsupported = Post(body, JsonHeaders({{"MCP-Protocol-Version", "2030-01-01"}, {"Mcp-Method", "tools/call"},
                                             {"Mcp-Name", "calculator"}}));
  ASSERT_TRUE(unsupported);
  EXPECT_EQ(unsupported->status, 400);
  EXPECT_EQ(json::parse(unsupported->body)["error"]["code"], -32022);
}

TEST(McpHttpLimits, BodyOverTheLimitIs413) {
  HttpOptions options;
  options.max_body_bytes = 1024;
  RunningServer running(options);
  httplib::Client client("127.0.0.1", running.port());
  json body = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"}, {"params", {{"pad", std::string(4096, 'x')}}}};
  auto res = client.Post("/mcp", JsonHeaders(), body.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
}

// 64 MiB declared: refused from the declared length, before any of the body is sent.
TEST(McpHttpLimits, A64MiBBodyIsRefusedBeforeItIsSent) {
  RunningServer running;
  test::Raw c(running.port());
  c.Send("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
         "Content-Type: application/json\r\nContent-Length: " + std::to_string(64u << 20) + "\r\n\r\n");
  std::string res = c.ReadUntil("}}");
  EXPECT_EQ(test::StatusOf(res), 413) << res;
  json body = json::parse(test::BodyOf(res), nullptr, false);
  ASSERT_TRUE(body.is_object()) << res;
  EXPECT_EQ(body["error"]["code"], rpc::kSessionRequired);  // a JSON-RPC error body
}

// Before: cpp-httplib 0.11.4 had no cap on the header count: it took all 10,000 and ran the request.
TEST(McpHttpLimits, TenThousandHeadersAre431AndTheServerKeepsServing) {
  RunningServer running;
  std::string request = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
                        "Content-Type: application/json\r\n";
  for (int i = 0; i < 10000; ++i) request += "X-Flood-" + std::to_string(i) + ": v\r\n";
  std::string ping = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
  request += "Content-Length: " + std::to_string(ping.size()) + "\r\n\r\n" + ping;
  test::Raw flood(running.port());
  flood.Send(request);
  std::string res = flood.ReadUntil("}}");
  EXPECT_EQ(test::StatusOf(res), 431) << res.substr(0, 300);
  httplib::Client next("127.0.0.1", running.port());
  json init = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
               {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}}}};
  auto ok = next.Post("/mcp", JsonHeaders(), init.dump(), "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST(McpHttpLimits, BearerTokenIsRequiredWhenSet) {
  HttpOptions options;
  options.token = "s3cret";
  RunningServer running(options);
  httplib::Client client("127.0.0.1", running.port());
  json init = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
               {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}}}};
  auto none = client.Post("/mcp", JsonHeaders(), init.dump(), "application/json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  auto wrong = client.Post("/mcp", JsonHeaders({{"Authorization", "Bearer nope"}}), init.dump(), "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto right = client.Post("/mcp", JsonHeaders({{"Authorization", "Bearer s3cret"}}), init.dump(), "application/json");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
}

// The listener's local address as the kernel reports it: 0100007F is 127.0.0.1.
TEST(McpHttpLimits, BindsLoopbackOnlyByDefault) {
  EXPECT_EQ(HttpOptions{}.host, "127.0.0.1");
  RunningServer running;
  char port_hex[8];
  snprintf(port_hex, sizeof(port_hex), "%04X", running.port());
  std::ifstream tcp("/proc/net/tcp");
  std::string line, local_address;
  while (std::getline(tcp, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (state == "0A" && local.size() > 9 && local.substr(9) == port_hex) local_address = local.substr(0, 8);
  }
  EXPECT_EQ(local_address, "0100007F");
}


// A session table full of sessions in use: a new initialize is refused with 503 and says why, and the
// sessions keep working.
TEST(McpHttpLimits, FullSessionTableRefusesInitializeWith503) {
  ServerOptions server_options;
  server_options.max_sessions = 2;
  RunningServer running({}, false, server_options);
  httplib::Client client("127.0.0.1", running.port());
  json init = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
               {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}}}};
  json ping = {{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}};
  std::vector<std::string> sessions;
  for (int i = 0; i < 2; ++i) {
    auto res = client.Post("/mcp", JsonHeaders(), init.dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    sessions.push_back(res->get_header_value("Mcp-Session-Id"));
    auto used = client.Post("/mcp", JsonHeaders({{"Mcp-Session-Id", sessions.back()}}), ping.dump(), "application/json");
    ASSERT_TRUE(used && used->status == 200);
  }
  auto refused = client.Post("/mcp", JsonHeaders(), init.dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_FALSE(refused->has_header("Mcp-Session-Id"));
  json error = json::parse(refused->body, nullptr, false);
  EXPECT_EQ(error["error"]["code"], -32000) << refused->body;
  EXPECT_NE(refused->body.find("all 2 sessions are in use"), std::string::npos) << refused->body;
  for (const auto& session : sessions) {
    auto still = client.Post("/mcp", JsonHeaders({{"Mcp-Session-Id", session}}), ping.dump(), "application/json");
    ASSERT_TRUE(still);
    EXPECT_EQ(still->status, 200);
  }
}

}  // namespace
}  // namespace llmdesk::mcp
