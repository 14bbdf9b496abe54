// Issue 14: RPC worker addresses in the config (errors at file:line:col), the address parser, and the HELLO
// check against sockets that play each kind of worker (absent, busy with another client, not an rpc-server,
// another protocol version, a real-shaped answer). The real ggml-rpc-server: tests/integration/rpc_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "manager/spawn.h"
#include "rpc/rpc.h"
#include "support/test_support.h"

namespace llmdesk {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

config::LoadResult Load(const std::string& yaml) {
  return config::LoadString(yaml, "t.yaml", [](const std::string& name) -> std::optional<std::string> {
    if (name == "WORKER") return "10.0.0.7:50052";
    return std::nullopt;
  });
}

std::string Errors(const config::LoadResult& r) {
  std::string all;
  for (const auto& d : r.errors()) all += d.ToString() + "\n";
  return all;
}

TEST(RpcConfig, WorkersAreParsedInOrderWithVariables) {
  auto r = Load("models:\n  big:\n    model: /m.gguf\n    rpc: [192.168.1.20:50052, \"${WORKER}\", gpu-box:6000]\n");
  ASSERT_TRUE(r.ok()) << Errors(r);
  EXPECT_EQ(r.config.models.at(0).rpc, (std::vector<std::string>{"192.168.1.20:50052", "10.0.0.7:50052", "gpu-box:6000"}));
  EXPECT_EQ(config::ToJson(r.config)["models"]["big"]["rpc"].size(), 3u);
}

TEST(RpcConfig, BadEntriesAreNamedAtTheirPlace) {
  auto r = Load("models:\n  big:\n    model: /m.gguf\n    rpc:\n      - 10.0.0.1:50052\n      - 10.0.0.2\n"
                "      - 10.0.0.3:70000\n      - bad_host!:1\n      - 10.0.0.1:50052\n");
  const std::string errors = Errors(r);
  EXPECT_THAT(errors, HasSubstr("t.yaml:6:9: error: models.big.rpc[1]: expected host:port, e.g. 192.168.1.20:50052, got '10.0.0.2'"));
  EXPECT_THAT(errors, HasSubstr("t.yaml:7:9: error: models.big.rpc[2]: expected host:port, e.g. 192.168.1.20:50052 (the port is a number 1-65535)"));
  EXPECT_THAT(errors, HasSubstr("t.yaml:8:9: error: models.big.rpc[3]:"));
  EXPECT_THAT(errors, HasSubstr("t.yaml:9:9: error: models.big.rpc[4]: RPC worker 10.0.0.1:50052 is listed twice"));
  EXPECT_EQ(r.errors().size(), 4u) << errors;
}

TEST(RpcConfig, ShapeAndPlaceOfTheKey) {
  EXPECT_THAT(Errors(Load("models:\n  big:\n    model: /m.gguf\n    rpc: 10.0.0.1:50052\n")),
              HasSubstr("t.yaml:4:10: error: models.big.rpc: expected a list of RPC workers (host:port)"));
  EXPECT_THAT(Errors(Load("models:\n  r:\n    url: http://gpu-box:8000/v1\n    rpc: [10.0.0.1:50052]\n")),
              HasSubstr("t.yaml:4:10: error: models.r.rpc: RPC workers are for a model llmdesk runs with llama-server"));
  EXPECT_THAT(Errors(Load("models:\n  big:\n    model: /m.gguf\n    args: [--rpc, 10.0.0.2:1]\n    rpc: [10.0.0.1:50052]\n")),
              HasSubstr("t.yaml:4:11: error: models.big.args: --rpc is given both in args and as `rpc:`"));
  EXPECT_THAT(Errors(Load("models:\n  big:\n    model: /m.gguf\n    rpcs: [10.0.0.1:50052]\n")),
              HasSubstr("did you mean 'rpc'"));
}

TEST(RpcSpawn, TheWorkersBecomeOneRpcArgumentOfLlamaServer) {
  config::ModelConfig m;
  m.model = "/m.gguf";
  m.rpc = {"10.0.0.1:50052", "gpu-box:50053"};
  auto spec = manager::BuildSpawnSpec(m, "/bin/llama-server", 10501);
  ASSERT_GE(spec.argv.size(), 2u);
  EXPECT_EQ(spec.argv[spec.argv.size() - 2], "--rpc");
  EXPECT_EQ(spec.argv.back(), "10.0.0.1:50052,gpu-box:50053");
  m.rpc.clear();
  spec = manager::BuildSpawnSpec(m, "/bin/llama-server", 10501);
  EXPECT_EQ(std::count(spec.argv.begin(), spec.argv.end(), "--rpc"), 0);
}

TEST(RpcEndpoint, ParsesAndPrintsAsLlamaServerTakesIt) {
  auto v4 = rpc::ParseEndpoint("127.0.0.1:50052");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 50052);
  EXPECT_EQ(v4->ToString(), "127.0.0.1:50052");
  auto v6 = rpc::ParseEndpoint("[::1]:7");
  ASSERT_FALSE(v6.ok());
  EXPECT_THAT(v6.status().message(), HasSubstr("IPv4 only"));
  for (const char* bad : {"", ":1", "host:", "host:0", "host:65536", "host:1x", "ho st:1", "[::1]:1", "::1:1", "a:b:c"})
    EXPECT_FALSE(rpc::ParseEndpoint(bad).ok()) << bad;
  EXPECT_FALSE(rpc::ParseEndpoint(std::string(300, 'a') + ":1").ok());
}

// A listening socket on 127.0.0.1 and its port.
UniqueFd Listen(int& port) {
  UniqueFd fd = test::BindLoopbackSocket(port);
  EXPECT_EQ(listen(fd.get(), 4), 0);
  return fd;
}

// Accepts one connection, reads the 33-byte HELLO, answers `reply`, then (if given) the device count.
std::thread Serve(int listener, std::string reply, std::string after = {}) {
  return std::thread([listener, reply = std::move(reply), after = std::move(after)] {
    UniqueFd c(accept(listener, nullptr, nullptr));
    if (!c.valid()) return;
    char hello[33];
    size_t got = 0;
    while (got < sizeof(hello)) {
      ssize_t n = read(c.get(), hello + got, sizeof(hello) - got);
      if (n <= 0) return;
      got += static_cast<size_t>(n);
    }
    EXPECT_EQ(hello[0], 14) << "RPC_CMD_HELLO";
    uint64_t size;
    std::memcpy(&size, hello + 1, 8);
    EXPECT_EQ(size, 24u);
    (void)!write(c.get(), reply.data(), reply.size());
    if (after.empty()) return;
    char count[9];
    got = 0;
    while (got < sizeof(count)) {
      ssize_t n = read(c.get(), count + got, sizeof(count) - got);
      if (n <= 0) return;
      got += static_cast<size_t>(n);
    }
    EXPECT_EQ(count[0], 15) << "RPC_CMD_DEVICE_COUNT";
    (void)!write(c.get(), after.data(), after.size());
  });
}

std::string HelloReply(uint8_t major) {
  std::string r(8 + 28, '\0');
  uint64_t size = 28;
  std::memcpy(r.data(), &size, 8);
  r[8] = static_cast<char>(major);
  r[9] = 0;
  r[10] = 3;
  return r;
}

std::string DeviceCountReply(uint32_t n) {
  std::string r(12, '\0');
  uint64_t size = 4;
  std::memcpy(r.data(), &size, 8);
  std::memcpy(r.data() + 8, &n, 4);
  return r;
}

rpc::WorkerCheck Check(int port) { return rpc::CheckWorker({"127.0.0.1", port}, 1000ms, 500ms); }

TEST(RpcCheck, AWorkerThatAnswersHello) {
  int port = 0;
  UniqueFd l = Listen(port);
  std::thread server = Serve(l.get(), HelloReply(rpc::kProtocolMajor), DeviceCountReply(2));
  auto c = Check(port);
  server.join();
  EXPECT_EQ(c.state, rpc::WorkerState::kAnswering) << c.detail;
  EXPECT_EQ(c.detail, "protocol 6.0.3, 2 devices");
}

TEST(RpcCheck, NobodyListening) {
  int port = 0;
  UniqueFd bound = test::BindLoopbackSocket(port);  // bound, not listening: connects are refused
  auto c = Check(port);
  EXPECT_EQ(c.state, rpc::WorkerState::kUnreachable);
  EXPECT_THAT(c.detail, HasSubstr("refused"));
}

TEST(RpcCheck, AcceptsButServesAnotherClient) {
  int port = 0;
  UniqueFd l = Listen(port);  // never accepts: the kernel completes the connection, nobody answers
  auto c = Check(port);
  EXPECT_EQ(c.state, rpc::WorkerState::kBusy) << c.detail;
  EXPECT_THAT(c.detail, HasSubstr("one client at a time"));
}

TEST(RpcCheck, NotAnRpcServerOrAnotherVersion) {
  int port = 0;
  UniqueFd l = Listen(port);
  std::thread http = Serve(l.get(), "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  auto c = Check(port);
  http.join();
  EXPECT_EQ(c.state, rpc::WorkerState::kIncompatible) << c.detail;

  std::thread old = Serve(l.get(), HelloReply(5));
  c = Check(port);
  old.join();
  EXPECT_EQ(c.state, rpc::WorkerState::kIncompatible);
  EXPECT_THAT(c.detail, HasSubstr("speaks RPC protocol 5.0.3"));

  std::thread closes([&] { UniqueFd conn(accept(l.get(), nullptr, nullptr)); });
  c = Check(port);
  closes.join();
  EXPECT_EQ(c.state, rpc::WorkerState::kIncompatible);
  EXPECT_THAT(c.detail, HasSubstr("closed the connection"));
}

TEST(RpcCheck, UnresolvableName) {
  auto c = rpc::CheckWorker({"no-such-host.invalid", 50052}, 1000ms, 500ms);
  EXPECT_EQ(c.state, rpc::WorkerState::kUnreachable);
  EXPECT_THAT(c.detail, HasSubstr("cannot resolve"));
}

}  // namespace
}  // namespace llmdesk
