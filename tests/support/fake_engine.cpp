// llmdesk-fake-engine — a STAND-IN for llama-server in tests and benchmarks (not a product binary).
//
// It behaves like llama-server where the manager cares: binds --host/--port before "loading" (and
// prints llama-server's "couldn't bind HTTP server socket" line and exits 1 when it cannot), prints
// llama-server-like loading lines, answers GET /health 503 while "loading" and 200 after --delay-ms.
//
//   llmdesk-fake-engine --host H --port P [-m MODEL] [--delay-ms N] [--exit-code N]
//                       [--bind-fail-ports P1,P2] [--ignore-sigterm] [--print-env NAME]
//                       [--record-first-200 FILE]   (CLOCK_MONOTONIC ns of the first 200, for benches)
//                       [--record-argv FILE]   (writes its whole argv, each entry followed by a NUL byte,
//                                           before anything else: what exactly arrived, for the no-shell tests)
//                       [--spawn-child]   (forks a child that stays in its process group and prints
//                                          "stand-in child PID N", like an engine's helper process)
//   llmdesk-fake-engine --listen-only PORT          (a foreign port holder: listens, answers nothing)
// Unknown arguments (llama-server flags such as --jinja) are accepted and ignored.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>


namespace {

void Say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// A plain listening socket without SO_REUSEPORT, like most foreign servers.
int ListenOnly(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 16) != 0) {
    std::fprintf(stderr, "listen-only: cannot listen on %d\n", port);
    return 1;
  }
  Say("listen-only: holding port " + std::to_string(port));
  for (;;) pause();
}

// --record-argv FILE: each argv entry exactly as received, NUL-terminated (entries may hold any byte but NUL).
void RecordArgv(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) != "--record-argv") continue;
    std::ofstream out(argv[i + 1], std::ios::binary | std::ios::trunc);
    for (int k = 0; k < argc; ++k) out << argv[k] << '\0';
    return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  RecordArgv(argc, argv);
  std::string host = "127.0.0.1", model = "fake.gguf", record_file, print_env;
  int port = 8080, delay_ms = 0, exit_code = -1;
  bool ignore_sigterm = false, spawn_child = false;
  std::set<int> bind_fail_ports;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--host")
      host = next();
    else if (a == "--port")
      port = std::atoi(next().c_str());
    else if (a == "-m" || a == "--model")
      model = next();
    else if (a == "--delay-ms")
      delay_ms = std::atoi(next().c_str());
    else if (a == "--exit-code")
      exit_code = std::atoi(next().c_str());
    else if (a == "--ignore-sigterm")
      ignore_sigterm = true;
    else if (a == "--spawn-child")
      spawn_child = true;
    else if (a == "--print-env")
      print_env = next();
    else if (a == "--record-argv")
      (void)next();  // done by RecordArgv before anything else
    else if (a == "--record-first-200")
      record_file = next();
    else if (a == "--listen-only")
      return ListenOnly(std::atoi(next().c_str()));
    else if (a == "--bind-fail-ports") {
      std::istringstream list(next());
      for (std::string p; std::getline(list, p, ',');) bind_fail_ports.insert(std::atoi(p.c_str()));
    }
  }
  if (ignore_sigterm) signal(SIGTERM, SIG_IGN);
  Say("0.00.002.320 I cmn  common_param: stand-in engine (llmdesk-fake-engine), pid " + std::to_string(getpid()));
  if (!print_env.empty()) {
    const char* v = std::getenv(print_env.c_str());
    Say("env " + print_env + "=" + (v ? v : "(unset)"));
  }
  if (spawn_child) {  // before any thread exists
    pid_t child = fork();
    if (child == 0) {
      for (;;) pause();
    }
    Say("0.00.002.500 I stand-in child PID " + std::to_string(child));
  }
  if (exit_code >= 0) {
    Say("0.00.003.000 E srv    load_model: failed to load model, '" + model + "' (stand-in asked to exit)");
    return exit_code;
  }

  httplib::Server server;
  // As llmdesk's own listeners: TCP_NODELAY, SO_REUSEADDR (TIME_WAIT never blocks a restart), no SO_REUSEPORT.
  server.set_tcp_nodelay(true);
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  std::atomic<bool> loaded{false};
  std::atomic<bool> recorded{false};
  server.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    if (!loaded) {
      res.status = 503;
      res.set_content(R"({"error":{"code":503,"message":"Loading model","type":"unavailable_error"}})",
                      "application/json");
      return;
    }
    if (!record_file.empty() && !recorded.exchange(true)) std::ofstream(record_file) << MonotonicNs() << "\n";
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  server.Get("/v1/models", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"object":"list","data":[{"id":"fake","object":"model"}]})", "application/json");
  });

  if (bind_fail_ports.count(port) || !server.bind_to_port(host, port)) {
    Say("0.00.002.738 E srv         start: couldn't bind HTTP server socket, hostname: " + host +
        ", port: " + std::to_string(port));
    Say("0.00.002.920 E srv  llama_server: exiting due to HTTP server error");
    return 1;
  }
  std::thread http([&] { server.listen_after_bind(); });
  Say("0.00.003.859 I srv    load_model: loading model '" + model + "'");
  Say("0.00.004.100 I load_tensors: loading model tensors, this can take a while... (load_mode = mmap)");
  if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));  // "loading"
  Say("0.00.005.000 I srv          init: initializing, n_slots = 1, n_ctx_slot = 4096, kv_unified = 'true'");
  loaded = true;
  Say("0.00.005.100 I srv  llama_server: model loaded");
  Say("0.00.005.200 I srv  llama_server: listening on http://" + host + ":" + std::to_string(port));
  http.join();
  return 0;
}
