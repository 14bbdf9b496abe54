// tests/support/test_support.h — small helpers for tests that use real processes and files.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace llmdesk::test {

// True in the asan tree (build-asan/), where this binary and the llmdesk it starts run under AddressSanitizer:
// its quarantine holds freed memory back (up to 256 MiB) and its allocator adds redzones, so a process's RSS
// says nothing about what llmdesk itself keeps. Memory bounds are checked in the release tree, which also runs
// the load tests (scripts/test); descriptors and threads are checked in both.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LLMDESK_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(LLMDESK_TEST_ASAN)
#define LLMDESK_TEST_ASAN 1
#endif
#ifdef LLMDESK_TEST_ASAN
inline constexpr bool kMemoryIsMeasurable = false;
#else
inline constexpr bool kMemoryIsMeasurable = true;
#endif

// A fresh directory under $TMPDIR, removed with everything in it when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // Writes `text` to path()/name and returns the full path.
  std::filesystem::path Write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

// The file's bytes, read in bulk (a 45 MB model in milliseconds, also under ASan at -O0); empty when it cannot
// be opened, which the test's own assertion on the content then reports.
std::string ReadFileBytes(const std::filesystem::path& path);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs argv (no shell) to completion with a time bound; stdout and stderr captured separately.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// build/bin/<name>
std::filesystem::path BinPath(const std::string& name);
// The llama-server built by scripts/setup.
std::filesystem::path LlamaServerPath();

// The environment of an llmdesk run kept inside `dir`: XDG_RUNTIME_DIR (created), XDG_STATE_HOME,
// XDG_DATA_HOME and XDG_CONFIG_HOME under it, LLMDESK_CONFIG empty — so a developer's own config,
// history or running instance never leaks into a test.
std::map<std::string, std::string> ScratchEnv(const std::filesystem::path& dir);

// A socket bound to 127.0.0.1 on a port the kernel picks (not listening yet); sets `port`.
// While it is held, connects to the port are refused and nobody else can bind it.
UniqueFd BindLoopbackSocket(int& port);

// A port no one listens on right now (the kernel's pick for an ephemeral bind, then released).
// Racy by nature; tests only use it where the code under test handles a lost race, and never to
// assert an exact port afterwards (use FreePortRange for that).
int PickUnusedPort();

// The first of `count` consecutive ports no one listens on right now, drawn at random *below* the
// kernel's ephemeral range: there, an outgoing connection of a parallel test could hold the port as
// its local port and make an exact-port assertion flaky. Still a look, not a reservation.
int FreePortRange(int count);

}  // namespace llmdesk::test
