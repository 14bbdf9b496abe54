// The MCP dispatcher without a transport: JSON-RPC error classes, both protocol versions' flows,
// notifications and server->client questions through a recording Peer, and the session table.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "mcp/fixtures/fixtures.h"
#include "mcp/server.h"
#include "mcp_test_util.h"
#include "tools/tools.h"

namespace llmdesk::mcp {
namespace {

using test::InitializeMessage;
using test::PostHttp;

json Meta(const std::string& version = kVersionStateless, json caps = json::object()) {
  return {{kMetaProtocolVersion, version}, {kMetaClientCapabilities, std::move(caps)}};
}

// Records everything the server sends; answers server->client questions with `answer` at once.
class RecordingPeer : public Peer {
 public:
  Server* server = nullptr;
  json answer;
  std::vector<json> sent;
  void Send(const json& message) override {
    sent.push_back(message);
    if (message.contains("id") && message.contains("method") && server) {
      server->DeliverClientReply({{"jsonrpc", "2.0"}, {"id", message["id"]}, {"result", answer}}, nullptr);
    }
  }
};

class McpDispatchTest : public ::testing::Test {
 protected:
  tools::Registry registry = tools::BuiltinTools({"calculator"});
  Server server{registry, MakeConformanceFixtures()};
  Incoming context;  // stdio-like: keeps the session between messages

  json Send(const std::string& text) {
    auto reply = server.Handle(text, context);
    return reply ? json::parse(*reply) : json();
  }
  json Request(const std::string& method, json params, int id = 1) {
    return Send(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}}.dump());
  }
  void Initialize(const std::string& version = "2025-11-25") {
    json r = Request("initialize", {{"protocolVersion", version}, {"capabilities", {{"sampling", json::object()}}},
                                    {"clientInfo", {{"name", "test"}, {"version", "1"}}}});
    ASSERT_TRUE(r.contains("result")) << r;
    EXPECT_FALSE(Send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})").is_object());
  }
  static int Code(const json& reply) { return reply.at("error").at("code").get<int>(); }
};

TEST_F(McpDispatchTest, MalformedJsonIsParseError) {
  json r = Send("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ");
  EXPECT_EQ(Code(r), -32700);
  EXPECT_TRUE(r["id"].is_null());
  EXPECT_EQ(Code(Send(std::string("\xff\xfe{}", 4))), -32700);
  // A number too large for a double (found by fuzz_mcp_dispatch) is a parse error, not an exception.
  EXPECT_EQ(Code(Send(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":1e999}})")), -32700);
}

TEST_F(McpDispatchTest, DeepNestingIsRefusedBeforeParsing) {
  Initialize();
  std::string deep = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calculator","arguments":{"x":)" +
                     std::string(100000, '[') + std::string(100000, ']') + "}}}";
  EXPECT_EQ(Code(Send(deep)), -32700);
  // Brackets inside strings do not count.
  json ok = Request("tools/call", {{"name", "calculator"}, {"arguments", {{"expression", std::string(500, '[')}}}});
  EXPECT_EQ(ok["result"]["isError"], true);
}

TEST_F(McpDispatchTest, NotARequestIsInvalidRequest) {
  EXPECT_EQ(Code(Send("42")), -32600);
  EXPECT_EQ(Code(Send(R"("tools/list")")), -32600);
  EXPECT_EQ(Code(Send(R"({"jsonrpc":"2.0","id":1})")), -32600);                        // no method
  EXPECT_EQ(Code(Send(R"({"jsonrpc":"1.0","id":1,"method":"ping"})")), -32600);        // wrong version
  EXPECT_EQ(Code(Send(R"({"id":1,"method":"ping"})")), -32600);                        // no jsonrpc
  EXPECT_EQ(Code(Send(R"({"jsonrpc":"2.0","id":{"a":1},"method":"ping"})")), -32600);  // id not string/int
  EXPECT_EQ(Code(Send(R"({"jsonrpc":"2.0","id":1,"method":7})")), -32600);
}

TEST_F(McpDispatchTest, BatchesFollowTheSessionVersion) {
  Initialize("2025-11-25");
  json r = Send(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])");
  EXPECT_EQ(Code(r), -32600);
  EXPECT_EQ(Code(Send("[]")), -32600);

  context = {};
  Initialize("2025-03-26");
  r = Send(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},
               {"jsonrpc":"2.0","id":2,"method":"nope"}])");
  ASSERT_TRUE(r.is_array()) << r;
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0]["result"], json::object());
  EXPECT_EQ(Code(r[1]), -32601);
}

TEST_F(McpDispatchTest, UnknownMethodIsMethodNotFound) {
  Initialize();
  json r = Request("tools/frobnicate", json::object(), 9);
  EXPECT_EQ(Code(r), -32601);
  EXPECT_EQ(r["id"], 9);
}

TEST_F(McpDispatchTest, BadParamsAndUnknownToolAreInvalidParams) {
  Initialize();
  EXPECT_EQ(Code(Request("tools/call", {{"arguments", json::object()}})), -32602);            // no name
  EXPECT_EQ(Code(Request("tools/call", {{"name", 5}})), -32602);
  EXPECT_EQ(Code(Request("tools/call", {{"name", "calculator"}, {"arguments", "2+2"}})), -32602);
  json unknown = Request("tools/call", {{"name", "no_such_tool"}, {"arguments", json::object()}});
  EXPECT_EQ(Code(unknown), -32602);
  EXPECT_NE(unknown["error"]["message"].get<std::string>().find("no_such_tool"), std::string::npos);
  EXPECT_EQ(Code(Send(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":[1,2]})")), -32602);
  EXPECT_EQ(Code(Request("logging/setLevel", {{"level", "loud"}})), -32602);
  EXPECT_EQ(Code(Request("initialize", {{"capabilities", json::object()}})), -32602);  // no protocolVersion
  EXPECT_EQ(Code(Request("resources/read", {{"uri", "test://nothing-here"}})), -32602);
  EXPECT_EQ(Code(Request("prompts/get", {{"name", "test_prompt_with_arguments"}})), -32602);  // missing args
}

TEST_F(McpDispatchTest, ToolFailuresAreResultsWithIsError) {
  Initialize();
  for (const char* expression : {"1/0", "foo(1)", "9^9^9^9", "((((1"}) {
    json r = Request("tools/call", {{"name", "calculator"}, {"arguments", {{"expression", expression}}}});
    ASSERT_TRUE(r.contains("result")) << expression << ": " << r;
    EXPECT_EQ(r["result"]["isError"], true) << expression;
    EXPECT_FALSE(r["result"]["content"][0]["text"].get<std::string>().empty());
  }
  json schema_violation = Request("tools/call", {{"name", "calculator"}, {"arguments", {{"expression", 42}}}});
  EXPECT_EQ(schema_violation["result"]["isError"], true);
  json fixture = Request("tools/call", {{"name", "test_error_handling"}, {"arguments", json::object()}});
  EXPECT_EQ(fixture["result"]["isError"], true);
}

TEST_F(McpDispatchTest, StatefulFlow) {
  json init = Request("initialize", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                                     {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
  EXPECT_EQ(init["result"]["protocolVersion"], "2025-06-18");
  EXPECT_EQ(init["result"]["serverInfo"]["name"], "llmdesk");
  EXPECT_TRUE(init["result"]["capabilities"].contains("tools"));
  EXPECT_EQ(Request("ping", json::object())["result"], json::object());
  json list = Request("tools/list", json::object());
  ASSERT_TRUE(list["result"]["tools"].is_array());
  EXPECT_EQ(list["result"]["tools"][0]["name"], "calculator");
  EXPECT_FALSE(list["result"].contains("resultType"));  // 2026-07-28 fields stay out of 2025 replies
  json call = Request("tools/call", {{"name", "calculator"}, {"arguments", {{"expression", "2+2"}}}});
  EXPECT_EQ(call["result"]["content"][0]["text"], "4");
  EXPECT_EQ(Request("logging/setLevel", {{"level", "warning"}})["result"], json::object());

  context = {};
  json future = Request("initialize", {{"protocolVersion", "2099-01-01"}, {"capabilities", json::object()}});
  EXPECT_EQ(future["result"]["protocolVersion"], "2025-11-25");  // we offer our newest stateful version
}

TEST_F(McpDispatchTest, StatelessFlow) {
  json discover = Request("server/discover", {{"_meta", Meta()}});
  ASSERT_TRUE(discover.contains("result")) << discover;
  EXPECT_EQ(discover["result"]["supportedVersions"], json(SupportedVersions()));
  EXPECT_EQ(discover["result"]["resultType"], "complete");
  EXPECT_EQ(discover["result"]["_meta"][kMetaServerInfo]["name"], "llmdesk");
  EXPECT_TRUE(discover["result"]["ttlMs"].is_number_integer());  // DiscoverResult requires the caching hints
  EXPECT_EQ(discover["result"]["cacheScope"], "public");

  json list = Request("tools/list", {{"_meta", Meta()}});
  EXPECT_EQ(list["result"]["resultType"], "complete");
  EXPECT_TRUE(list["result"]["ttlMs"].is_number_integer());
  EXPECT_EQ(list["result"]["cacheScope"], "public");

  json call = Request("tools/call", {{"name", "calculator"}, {"arguments", {{"expression", "2^10"}}}, {"_meta", Meta()}});
  EXPECT_EQ(call["result"]["content"][0]["text"], "1024");
  EXPECT_EQ(call["result"]["resultType"], "complete");

  json elicit = Request("tools/call", {{"name", "test_input_required_result_elicitation"}, {"arguments", json::object()},
                                       {"_meta", Meta(kVersionStateless, {{"elicitation", json::object()}})}});
  EXPECT_EQ(elicit["result"]["resultType"], "input_required");
  EXPECT_EQ(elicit["result"]["inputRequests"]["user_name"]["method"], "elicitation/create");
}

TEST_F(McpDispatchTest, StatelessErrors) {
  json unsupported = Request("server/discover", {{"_meta", Meta("1999-01-01")}});
  EXPECT_EQ(Code(unsupported), -32022);
  EXPECT_EQ(unsupported["error"]["data"]["requested"], "1999-01-01");
  EXPECT_EQ(unsupported["error"]["data"]["supported"], json(SupportedVersions()));

  json no_caps = Request("tools/list", {{"_meta", {{kMetaProtocolVersion, kVersionStateless}}}});
  EXPECT_EQ(Code(no_caps), -32602);

  EXPECT_EQ(Code(Request("ping", {{"_meta", Meta()}})), -32601);  // removed in 2026-07-28
  json missing = Request("tools/call", {{"name", "test_missing_capability"}, {"arguments", json::object()}, {"_meta", Meta()}});
  EXPECT_EQ(Code(missing), -32021);
  EXPECT_TRUE(missing["error"]["data"]["requiredCapabilities"]["sampling"].is_object());
}

TEST_F(McpDispatchTest, StatelessHttpHeadersAndStatuses) {
  Incoming in;
  in.http = true;
  in.header_version = kVersionStateless;
  in.header_method = "tools/list";
  in.message = {{"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/list"}, {"params", {{"_meta", Meta()}}}};
  Outcome ok = server.Dispatch(in);
  EXPECT_EQ(ok.http_status, 200);

  in.header_method = "tools/call";  // does not match the body
  Outcome mismatch = server.Dispatch(in);
  EXPECT_EQ(mismatch.http_status, 400);
  EXPECT_EQ(Code(*mismatch.reply), -32020);
  EXPECT_EQ((*mismatch.reply)["id"], 3);

  in.header_method = "ping";
  in.message["method"] = "ping";
  Outcome removed = server.Dispatch(in);
  EXPECT_EQ(removed.http_status, 404);
  EXPECT_EQ(Code(*removed.reply), -32601);

  in.header_version = "2026-01-01";  // header and _meta disagree
  Outcome header = server.Dispatch(in);
  EXPECT_EQ(header.http_status, 400);
  EXPECT_EQ(Code(*header.reply), -32020);
}

TEST_F(McpDispatchTest, McpParamHeadersMustMirrorTheirArguments) {
  Incoming in;
  in.http = true;
  in.header_version = kVersionStateless;
  in.header_method = "tools/call";
  in.header_name = "test_custom_header";
  in.message = {{"jsonrpc", "2.0"}, {"id", 4}, {"method", "tools/call"},
                {"params", {{"name", "test_custom_header"}, {"arguments", {{"region", "Hello"}}}, {"_meta", Meta()}}}};
  auto status_with = [&](std::optional<std::string> header) {
    in.param_headers.clear();
    if (header) in.param_headers.emplace_back("region", *header);  // header names are case-insensitive
    return server.Dispatch(in).http_status;
  };
  EXPECT_EQ(status_with("Hello"), 200);
  EXPECT_EQ(status_with("=?base64?SGVsbG8=?="), 200);
  EXPECT_EQ(status_with("=?base64?SGVsbG8?="), 400);      // bad padding
  EXPECT_EQ(status_with("=?base64?SGVs!!!bG8=?="), 400);  // not base64
  EXPECT_EQ(status_with("Goodbye"), 400);
  EXPECT_EQ(status_with(std::nullopt), 400);               // argument in the body, header missing
  EXPECT_EQ(Code(*server.Dispatch(in).reply), -32020);
}

TEST_F(McpDispatchTest, NotificationsGetNoReply) {
  Initialize();
  EXPECT_FALSE(server.Handle(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}})", context));
  EXPECT_FALSE(server.Handle(R"({"jsonrpc":"2.0","method":"tools/list"})", context));
}

TEST_F(McpDispatchTest, ProgressAndLoggingReachThePeer) {
  RecordingPeer peer;
  context.peer = &peer;
  Initialize();
  json r = Request("tools/call", {{"name", "test_tool_with_progress"}, {"arguments", json::object()},
                                  {"_meta", {{"progressToken", "tok"}}}});
  ASSERT_TRUE(r.contains("result")) << r;
  ASSERT_EQ(peer.sent.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(peer.sent[i]["method"], "notifications/progress");
    EXPECT_EQ(peer.sent[i]["params"]["progressToken"], "tok");
    EXPECT_EQ(peer.sent[i]["params"]["progress"], 50.0 * static_cast<double>(i));
  }
  peer.sent.clear();
  Request("logging/setLevel", {{"level", "error"}});
  Request("tools/call", {{"name", "test_tool_with_logging"}, {"arguments", json::object()}});
  EXPECT_TRUE(peer.sent.empty());  // info messages are below the requested level
}

TEST_F(McpDispatchTest, SamplingAsksTheClientAndUsesItsAnswer) {
  RecordingPeer peer;
  peer.server = &server;
  peer.answer = {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "Paris"}}}, {"model", "m"}};
  context.peer = &peer;
  Initialize();
  json r = Request("tools/call", {{"name", "test_sampling"}, {"arguments", {{"prompt", "Capital of France?"}}}});
  ASSERT_EQ(peer.sent.size(), 1u);
  EXPECT_EQ(peer.sent[0]["method"], "sampling/createMessage");
  EXPECT_EQ(r["result"]["content"][0]["text"], "LLM response: Paris");
}

TEST(McpPagination, ToolsListPagesWithCursor) {
  tools::Registry registry = tools::BuiltinTools({"calculator", "get_time", "convert_units"});
  ServerOptions options;
  options.tools_page_size = 2;
  Server server(registry, nullptr, options);
  Incoming context;
  std::vector<std::string> names;
  json cursor = nullptr;
  for (int page = 0; page < 10; ++page) {
    json params = json::object();
    if (!cursor.is_null()) params["cursor"] = cursor;
    json r = json::parse(*server.Handle(json{{"jsonrpc", "2.0"}, {"id", page}, {"method", "tools/list"},
                                             {"params", params}}.dump(), context));
    for (const auto& t : r["result"]["tools"]) names.push_back(t["name"]);
    cursor = r["result"].value("nextCursor", json());
    if (cursor.is_null()) break;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"calculator", "get_time", "convert_units"}));
  json bad = json::parse(*server.Handle(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"zz"}})", context));
  EXPECT_EQ(bad["error"]["code"], -32602);
}

// Tools a provider adds to the registry later (an external MCP server's) are listed and callable; once
// it goes away they are neither.
TEST(McpProviders, ToolsListFollowsTheRegistry) {
  tools::Registry registry = tools::BuiltinTools({"calculator"});
  Server server(registry);
  Incoming context;
  auto names = [&] {
    json r = json::parse(*server.Handle(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})", context));
    std::vector<std::string> out;
    for (const auto& t : r["result"]["tools"]) out.push_back(t["name"]);
    return out;
  };
  EXPECT_EQ(names(), std::vector<std::string>{"calculator"});
  tools::Tool remote;
  remote.name = "search";
  remote.input_schema = {{"type", "object"}};
  remote.run = [](const json&, const tools::CallContext&) { return tools::ToolResult::Text("found"); };
  ASSERT_TRUE(registry.SetProviderTools("web", {remote}).ok());
  EXPECT_EQ(names(), (std::vector<std::string>{"calculator", "search"}));
  const std::string call = R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search"}})";
  EXPECT_EQ(json::parse(*server.Handle(call, context))["result"]["content"][0]["text"], "found");
  registry.RemoveProvider("web");
  EXPECT_EQ(names(), std::vector<std::string>{"calculator"});
  EXPECT_EQ(json::parse(*server.Handle(call, context))["error"]["code"], -32602);
}

// notifications/cancelled reaches the running tool through CallContext::cancelled.
TEST(McpCancellation, CancelledNotificationStopsARunningTool) {
  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  tools::Registry registry;
  tools::Tool wait;
  wait.name = "wait_for_cancel";
  wait.input_schema = {{"type", "object"}};
  wait.run = [&](const json&, const tools::CallContext& ctx) {
    {
      std::lock_guard lock(mu);
      started = true;
    }
    cv.notify_all();
    auto give_up = Clock::now() + std::chrono::seconds(30);
    while (!ctx.cancelled() && Clock::now() < give_up) std::this_thread::yield();
    return tools::ToolResult::Text(ctx.cancelled() ? "cancelled" : "not cancelled");
  };
  ASSERT_TRUE(registry.Add(std::move(wait)).ok());
  Server server(registry);

  Outcome a = PostHttp(server, InitializeMessage(1));
  ASSERT_TRUE(a.new_session);
  Outcome result;
  std::thread running([&] {
    result = PostHttp(server, {{"jsonrpc", "2.0"}, {"id", 42}, {"method", "tools/call"},
                               {"params", {{"name", "wait_for_cancel"}}}}, a.new_session);
  });
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return started; });
  }
  json cancel = {{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 42}}}};
  EXPECT_EQ(PostHttp(server, cancel, a.new_session).http_status, 202);
  running.join();
  ASSERT_TRUE(result.reply) << "no reply";
  EXPECT_EQ((*result.reply)["result"]["content"][0]["text"], "cancelled");
}

}  // namespace
}  // namespace llmdesk::mcp
