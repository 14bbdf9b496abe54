// The Manager's port handling with real processes and sockets on 127.0.0.1: foreign holders,
// on_conflict, TIME_WAIT, a port lost between the look and the engine's bind, an exhausted range.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "integration/manager_fixture.h"

namespace llmdesk::manager {
namespace {

using namespace std::chrono_literals;
using namespace testing_support;
using test::BinPath;
using ::testing::HasSubstr;

TEST_F(ManagerTest, ForeignHolderMeansFallbackNamingTheHolder) {
  auto holder = HoldPort(dir_, base_);
  auto m = Make(MakeOptions({Model("a", base_)}));
  ASSERT_TRUE(m->Start("a").ok());
  auto ready = rec_.WaitState(State::kReady);
  ASSERT_TRUE(ready) << m->Get("a")->reason;
  EXPECT_NE(ready->port, base_);
  EXPECT_GE(ready->port, base_ + 1);
  EXPECT_LE(ready->port, base_ + 5);
  EXPECT_EQ(HealthStatus(ready->port), 200);
  auto starting = rec_.WaitState(State::kStarting, 0ms);
  ASSERT_TRUE(starting);
  const std::string expected =
      "port " + std::to_string(base_) + " is held by PID " + std::to_string(holder->pid()) + " (";
  EXPECT_THAT(starting->reason, HasSubstr(expected));
  EXPECT_THAT(starting->reason, HasSubstr("--listen-only " + std::to_string(base_)));
  EXPECT_THAT(starting->reason, HasSubstr("; using " + std::to_string(ready->port)));
  EXPECT_THAT(m->Get("a")->reason, HasSubstr(expected));  // status keeps saying why
}

TEST_F(ManagerTest, OnConflictFailRefusesNamingPidCommandAndHowToFree) {
  auto holder = HoldPort(dir_, base_);
  auto o = MakeOptions({Model("a", base_)});
  o.config.ports.on_conflict = config::OnConflict::kFail;
  auto m = Make(std::move(o));
  ASSERT_TRUE(m->Start("a").ok());
  auto failed = rec_.WaitState(State::kFailed);
  ASSERT_TRUE(failed);
  EXPECT_THAT(failed->reason, HasSubstr("PID " + std::to_string(holder->pid())));
  EXPECT_THAT(failed->reason, HasSubstr("llmdesk-fake-engine --listen-only"));
  EXPECT_THAT(failed->reason, HasSubstr("kill " + std::to_string(holder->pid())));
  EXPECT_FALSE(holder->Exited());
}

// Connections in TIME_WAIT whose local port is `port` (/proc/net/tcp: state 06).
int TimeWaitOn(int port) {
  std::ifstream tcp("/proc/net/tcp");
  char local[16];
  std::snprintf(local, sizeof local, ":%04X", port);
  int n = 0;
  for (std::string line; std::getline(tcp, line);) {
    std::istringstream fields(line);
    std::string slot, local_address, remote_address, state;
    if (fields >> slot >> local_address >> remote_address >> state)
      n += state == "06" && local_address.size() > 5 && local_address.compare(local_address.size() - 5, 5, local) == 0;
  }
  return n;
}

TEST_F(ManagerTest, TimeWaitConnectionsNeverMoveTheStart) {
  constexpr int kStorm = 1000;  // issue 12: a TIME_WAIT storm of 1,000 connections on the backend port
  {
    // kStorm connections to a listener on the port; the server side closes first, so the port's
    // connections sit in TIME_WAIT after the listener is gone.
    UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(base_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(listen(listener.get(), 256), 0);
    for (int k = 0; k < kStorm; ++k) {
      UniqueFd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      ASSERT_EQ(connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << "connection " << k;
      UniqueFd server(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      ASSERT_TRUE(server.valid()) << "connection " << k;
      server.reset();  // active close: TIME_WAIT on the server's side (local port base_)
    }
  }
  // The storm is really there (TIME_WAIT lasts 60 s on Linux): the start below meets all of it.
  ASSERT_GE(TimeWaitOn(base_), kStorm);
  auto m = Make(MakeOptions({Model("a", base_)}));
  ASSERT_TRUE(m->Start("a").ok());
  auto ready = rec_.WaitState(State::kReady);
  ASSERT_TRUE(ready) << m->Get("a")->reason;
  EXPECT_EQ(ready->port, base_);
}

TEST_F(ManagerTest, PortTakenBetweenLookAndSpawnIsRetriedOnTheNextPort) {
  // The stand-in reports llama-server's "couldn't bind HTTP server socket" on base_ (as if someone
  // took the port right after the manager looked) and exits 1.
  auto m = Make(MakeOptions({Model("a", base_, {"--bind-fail-ports", std::to_string(base_)})}));
  ASSERT_TRUE(m->Start("a").ok());
  auto ready = rec_.WaitState(State::kReady);
  ASSERT_TRUE(ready) << m->Get("a")->reason;
  EXPECT_EQ(ready->port, base_ + 1);
  auto retry = rec_.WaitFor(
      [&](const Event& e) {
        return e.kind == Event::Kind::kState && e.old_state == State::kStarting && e.new_state == State::kStarting;
      },
      0ms);
  ASSERT_TRUE(retry);
  EXPECT_THAT(retry->reason, HasSubstr("could not bind"));
  EXPECT_THAT(retry->reason, HasSubstr("using " + std::to_string(base_ + 1)));
}

TEST_F(ManagerTest, EngineThatNeverBindsGivesUpAfterBoundedAttempts) {
  std::string all;
  for (int p = base_; p <= base_ + 5; ++p) all += (all.empty() ? "" : ",") + std::to_string(p);
  auto o = MakeOptions({Model("a", base_, {"--bind-fail-ports", all})});
  o.port_attempts = 3;
  auto m = Make(std::move(o));
  ASSERT_TRUE(m->Start("a").ok());
  auto failed = rec_.WaitState(State::kFailed);
  ASSERT_TRUE(failed);
  EXPECT_THAT(failed->reason, HasSubstr("could not bind a port 3 times"));
  EXPECT_THAT(failed->reason, HasSubstr("couldn't bind HTTP server socket"));
}

TEST_F(ManagerTest, RangeExhaustedFailsClearly) {
  auto h0 = HoldPort(dir_, base_);
  auto h1 = HoldPort(dir_, base_ + 1);
  auto o = MakeOptions({Model("a", base_)});
  o.config.ports.range_last = base_ + 1;
  auto m = Make(std::move(o));
  ASSERT_TRUE(m->Start("a").ok());
  auto failed = rec_.WaitState(State::kFailed);
  ASSERT_TRUE(failed);
  EXPECT_THAT(failed->reason, HasSubstr("no free port is left in ports.range"));
}

}  // namespace
}  // namespace llmdesk::manager
