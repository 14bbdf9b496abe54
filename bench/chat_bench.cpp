// llmdesk-chat-bench — what the chat adds, measured against goals of issue 8 §2 (figures, not a test):
//
//   llmdesk-chat-bench loop  [--runs N] [--warmup N] [--calls-per-run K]
//       what the agent loop (chat::Agent + chat::McpHost) adds per tool call, model and tool time
//       excluded (goal <= 2 ms); see chat_bench_loop.cpp.
//   llmdesk-chat-bench stack [--runs N] [--model GGUF] [--llama-server PATH] [--llmdesk PATH]
//       what `llmdesk serve` adds to "What's 2+2?" (POST /api/chat) from a stopped model to the answer,
//       beyond llama-server's own load and generation time as it reports them (goal <= 50 ms), with a
//       plain client driving llama-server directly as the same-run baseline; see chat_bench_stack.cpp.
//
// Exit status: 0 when the figures were measured (whether or not a goal was met: the table says), 1 when a
// measurement was invalid (a run failed or answered wrongly), 2 for bad usage.
#include <signal.h>

#include <fstream>
#include <thread>

#include "chat_bench.h"

namespace llmdesk::bench {

std::string MachineLoad() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return "load average " + one + " " + five + " " + fifteen + ", " +
         std::to_string(std::thread::hardware_concurrency()) + " CPUs";
}

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: llmdesk-chat-bench loop [--runs N] [--warmup N] [--calls-per-run K]\n"
               "       llmdesk-chat-bench stack [--runs N] [--model GGUF] [--llama-server PATH] [--llmdesk PATH]\n");
  return 2;
}

int Number(const std::string& option, const std::string& value) {
  char* end = nullptr;
  long n = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || n < 0 || n > 1000000) Die(option + " wants a whole number, got '" + value + "'");
  return static_cast<int>(n);
}

int Main(int argc, char** argv) {
  if (argc < 2) return Usage();
  const std::string what = argv[1];
  ::signal(SIGPIPE, SIG_IGN);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (what == "loop") {
    LoopArgs a;
    for (int i = 2; i < argc; i += 2) {
      std::string k = argv[i], v = i + 1 < argc ? argv[i + 1] : "";
      if (k == "--runs") a.runs = Number(k, v);
      else if (k == "--warmup") a.warmup = Number(k, v);
      else if (k == "--calls-per-run") a.calls_per_run = Number(k, v);
      else return Usage();
    }
    return RunLoopBench(a);
  }
  if (what == "stack") {
    StackArgs a;
    for (int i = 2; i < argc; i += 2) {
      std::string k = argv[i], v = i + 1 < argc ? argv[i + 1] : "";
      if (k == "--runs") a.runs = Number(k, v);
      else if (k == "--model") a.model = v;
      else if (k == "--llama-server") a.llama_server = v;
      else if (k == "--llmdesk") a.llmdesk = v;
      else return Usage();
    }
    return RunStackBench(a);
  }
  return Usage();
}

}  // namespace
}  // namespace llmdesk::bench

int main(int argc, char** argv) { return llmdesk::bench::Main(argc, argv); }
