// net/ports: the /proc/net/tcp parser on text (good rows and garbage), and a /proc scan that never
// throws while processes come and go around it.
#include "net/ports.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "support/test_support.h"

namespace llmdesk::net {
namespace {

using namespace std::chrono_literals;

constexpr const char* kHeader =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

TEST(ParseTcpTable, ReadsListenRows) {
  std::string text = std::string(kHeader) +
      "   0: 0100007F:2913 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n"
      "   1: 0100007F:2913 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0 20 4 30 10 -1\n"
      "   2: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1588 1 0 100 0 0 10 0";
  auto rows = ParseTcpTable(text);
  ASSERT_EQ(rows.size(), 2u);  // the ESTABLISHED row (01) is not a listener
  EXPECT_EQ(rows[0].port, 10515);
  EXPECT_EQ(rows[0].address, "127.0.0.1");
  EXPECT_EQ(rows[0].inode, 4242u);
  EXPECT_FALSE(rows[0].pid.has_value());
  EXPECT_EQ(rows[1].port, 2024);
  EXPECT_EQ(rows[1].address, "0.0.0.0");  // last line without a newline still counts

  std::string v6 = std::string(kHeader) +
      "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000  1000        0 777 1 0 100 0 0 10 0\n";
  auto rows6 = ParseTcpTable(v6);
  ASSERT_EQ(rows6.size(), 1u);
  EXPECT_EQ(rows6[0].address, "::1");
  EXPECT_EQ(rows6[0].port, 8080);
}

TEST(ParseTcpTable, SkipsGarbageWithoutThrowing) {
  const std::vector<std::string> bad_rows = {
      "   0: 0100007F:ZZZZ 00000000:0000 0A 0:0 0:0 0 0 0 4242",       // port not hex
      "   0: 0100007F:12345 00000000:0000 0A 0:0 0:0 0 0 0 4242",      // port > 65535
      "   0: 0100007F:FFFFFFFFFFFFFFFFFFFF 0:0 0A 0:0 0:0 0 0 0 4242",  // would overflow stoul
      "   0: XX00007F:2913 00000000:0000 0A 0:0 0:0 0 0 0 4242",       // address not hex
      "   0: 0100007F2913 00000000:0000 0A 0:0 0:0 0 0 0 4242",        // no colon
      "   0: 00007F:2913 00000000:0000 0A 0:0 0:0 0 0 0 4242",         // address of odd size
      "   0: 0100007F:2913 00000000:0000 0A 0:0 0:0 0 0 0 -1",         // inode negative
      "   0: 0100007F:2913 00000000:0000 0A 0:0 0:0 0 0 0 99999999999999999999999",  // inode overflow
      "   0: 0100007F:2913 00000000:0000 0A",                           // cut short
      "   0: 0100007F: 00000000:0000 0A 0:0 0:0 0 0 0 4242",           // empty port
      "   0: :2913 00000000:0000 0A 0:0 0:0 0 0 0 4242",               // empty address
      std::string("\0\xff\x01 0A", 6),
      "",
      "\t \t",
  };
  for (const auto& row : bad_rows) {
    EXPECT_TRUE(ParseTcpTable(std::string(kHeader) + row + "\n").empty()) << row;
    EXPECT_TRUE(ParseTcpTable(row).empty()) << row;  // a lone line is a header
  }
  EXPECT_TRUE(ParseTcpTable("").empty());
  EXPECT_TRUE(ParseTcpTable("\n\n\n").empty());
  // One good row among the garbage is still found.
  std::string mixed = std::string(kHeader) + bad_rows[0] + "\n" +
                      "   9: 0100007F:0050 00000000:0000 0A 0:0 0:0 0 0 0 17\n" + bad_rows[2] + "\n";
  auto rows = ParseTcpTable(mixed);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].port, 80);
  EXPECT_EQ(rows[0].inode, 17u);
}

TEST(ListListeners, FindsOurOwnListener) {
  int port = 0;
  UniqueFd socket = test::BindLoopbackSocket(port);
  ASSERT_EQ(listen(socket.get(), 1), 0);
  auto holder = FindPortHolder(port);
  ASSERT_TRUE(holder.has_value());
  EXPECT_EQ(holder->pid, getpid());
  EXPECT_EQ(holder->address, "127.0.0.1");
}

// The supervisor thread scans /proc while engines and their helpers start and exit: a process that
// vanishes between reading /proc and reading /proc/PID/fd must be skipped, never an exception (which
// on that thread would be std::terminate for every engine). Forked children exit in a tight loop for
// two seconds while this thread scans; each child inherits many fds so its fd directory takes several
// reads, and dying in between them is likely.
TEST(ListListeners, ScanNeverThrowsWhileProcessesComeAndGo) {
  int port = 0;
  UniqueFd socket = test::BindLoopbackSocket(port);
  ASSERT_EQ(listen(socket.get(), 1), 0);
  std::vector<UniqueFd> ballast;
  for (int k = 0; k < 600; ++k) ballast.emplace_back(open("/dev/null", O_RDONLY | O_CLOEXEC));

  std::atomic<bool> stop{false};
  std::atomic<int> forks{0};
  std::thread churn([&] {
    while (!stop) {
      pid_t pid = fork();
      if (pid == 0) _exit(0);  // async-signal-safe only: we forked a threaded process
      if (pid > 0) waitpid(pid, nullptr, 0), ++forks;
    }
  });
  int scans = 0;
  bool found_ours = true;
  auto until = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < until) {
    std::vector<PortHolder> all;
    EXPECT_NO_THROW(all = ListListeners());
    bool ours = false;
    for (const auto& h : all) ours |= h.port == port && h.pid == getpid();
    found_ours &= ours;
    ++scans;
  }
  stop = true;
  churn.join();
  EXPECT_TRUE(found_ours);  // the scan still did its work
  EXPECT_GT(scans, 0);
  EXPECT_GT(forks.load(), 10);
}

}  // namespace
}  // namespace llmdesk::net
