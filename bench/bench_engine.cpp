// llmdesk-bench-engine — a stand-in for llama-server that says exactly when it became healthy.
//
// Accepts llama-server's argv (uses --host/--port, ignores the rest). It "loads" for a delay taken from
// $LLMDESK_BENCH_LOAD_MS ("300" or a uniform range "100-600"; default 0), answering GET /health with
// 503 meanwhile and 200 after, like llama-server. When loading ends it appends one line to
// $LLMDESK_BENCH_READY_FILE: "<healthy_at_ns> <first_200_ns>" (CLOCK_REALTIME, written once the first
// 200 has been served), so a benchmark can compare a supervisor's `ready` with the moment the engine
// could first have answered 200. With $LLMDESK_BENCH_SILENT set it does not print "model loaded" when it
// turns healthy, so a supervisor can only find out by polling. A port in use is reported like llama-server does and exits 1.
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include <httplib.h>


namespace {

int64_t RealtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int LoadDelayMs() {
  const char* spec = std::getenv("LLMDESK_BENCH_LOAD_MS");
  if (!spec || !*spec) return 0;
  std::string s = spec;
  auto dash = s.find('-');
  if (dash == std::string::npos) return std::atoi(s.c_str());
  int lo = std::atoi(s.substr(0, dash).c_str()), hi = std::atoi(s.substr(dash + 1).c_str());
  std::mt19937 rng(static_cast<unsigned>(RealtimeNs() ^ getpid()));
  return std::uniform_int_distribution<int>(lo, std::max(lo, hi))(rng);
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 8080;
  for (int i = 1; i + 1 < argc; ++i) {
    std::string a = argv[i];
    if (a == "--port") port = std::atoi(argv[++i]);
    else if (a == "--host") host = argv[++i];
  }
  const char* ready_file = std::getenv("LLMDESK_BENCH_READY_FILE");
  const int delay_ms = LoadDelayMs();
  const bool silent = std::getenv("LLMDESK_BENCH_SILENT") != nullptr;

  httplib::Server server;
  server.set_tcp_nodelay(true);  // as llmdesk's listeners: no Nagle, SO_REUSEADDR, never SO_REUSEPORT
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  std::atomic<int64_t> healthy_at{0};
  std::atomic<bool> recorded{false};
  server.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    int64_t at = healthy_at.load();
    if (at == 0 || RealtimeNs() < at) {
      res.status = 503;
      res.set_content(R"({"error":{"code":503,"message":"Loading model","type":"unavailable_error"}})", "application/json");
      return;
    }
    int64_t first = RealtimeNs();
    res.set_content(R"({"status":"ok"})", "application/json");
    if (ready_file && !recorded.exchange(true)) std::ofstream(ready_file, std::ios::app) << at << " " << first << "\n";
  });
  server.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"object":"list","data":[{"id":"bench","object":"model"}]})", "application/json");
  });

  if (!server.bind_to_port(host, port)) {
    std::fprintf(stderr, "couldn't bind HTTP server socket, hostname: %s, port: %d\n", host.c_str(), port);
    return 1;
  }
  std::printf("main: server is listening on http://%s:%d - starting the main loop\n", host.c_str(), port);
  std::printf("llama_model_load: loading model (bench stand-in, %d ms)\n", delay_ms);
  std::fflush(stdout);
  // The health flip happens at a precise instant, independent of whoever polls.
  std::thread loader([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    healthy_at = RealtimeNs();
    if (!silent) {  // llama-server prints this line when it turns healthy; supervisors may react to it
      std::printf("main: model loaded\n");
      std::fflush(stdout);
    }
  });
  loader.detach();
  server.listen_after_bind();
  return 0;
}
