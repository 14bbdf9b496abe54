// bench/gui_bench.cpp — the desktop app's responsiveness figures (issue 10), each next to a baseline measured in
// the same run:
//   1. cold start to window shown: a child process that builds the whole app window (llmdesk-gui's MainWindow,
//      which then starts `llmdesk serve` on its own) vs a child showing an empty QMainWindow (the Qt floor);
//   2. idle RSS of that app child once it is attached to its serve (vs the empty-window child);
//   3. UI stalls: a heartbeat QTimer (10 ms) on the UI thread plus a watchdog thread that sees a hang while it
//      happens; the longest gap between beats while the app starts a model server on demand and runs a tool
//      chat ("What's 2+2?" with Enable Tool Use, real llama-server, real tool server) vs the same window idle.
// Usage: llmdesk-gui-bench [--runs N]   (QT_QPA_PLATFORM defaults to offscreen)
#include <sys/resource.h>
#include <poll.h>
#include <unistd.h>

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QMainWindow>
#include <QPlainTextEdit>
#include <QTest>
#include <QTimer>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "chat_tab.h"
#include "chat_widgets.h"
#include "main_window.h"
#include "support/spawn.h"
#include "support/test_support.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using llmdesk::test::TempDir;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

long RssKiB() {
  QFile f("/proc/self/status");
  if (!f.open(QIODevice::ReadOnly)) return -1;
  for (const QByteArray& line : f.readAll().split('\n'))
    if (line.startsWith("VmRSS:")) return line.mid(6).trimmed().split(' ').front().toLong();
  return -1;
}

// The scratch world: XDG dirs, a generated model that calls calculator and then answers, a config on free ports.
struct World {
  TempDir dir;
  std::string config;
  World() {
    for (auto [key, sub] : {std::pair{"XDG_RUNTIME_DIR", "run"}, std::pair{"XDG_STATE_HOME", "state"},
                            std::pair{"XDG_DATA_HOME", "data"}, std::pair{"XDG_CONFIG_HOME", "config"}}) {
      std::filesystem::create_directories(dir.path() / sub);
      setenv(key, (dir.path() / sub).c_str(), 1);
    }
    std::filesystem::permissions(dir.path() / "run", std::filesystem::perms::owner_all);
    unsetenv("LLMDESK_CONFIG");
    auto model = dir.path() / "answer.gguf";
    auto r = llmdesk::test::RunCommand({llmdesk::test::BinPath("llmdesk-testmodel").string(), "--out", model.string(),
                                        "--tool-call", "calculator", R"({"expression":"2+2"})", "--answer-after-tool",
                                        "The sum is "},
                                       120s);
    if (r.exit_code != 0) std::fprintf(stderr, "bench: llmdesk-testmodel failed: %s\n", r.err.c_str()), std::exit(1);
    const int base = llmdesk::test::FreePortRange(10);
    config = dir.Write("llm_backends.yaml",
                       "engine:\n  llama_server: " + llmdesk::test::LlamaServerPath().string() +
                           "\ngateway: {host: 127.0.0.1, port: " + std::to_string(base) + "}\n" +
                           "tool_server: {port: " + std::to_string(base + 1) + ", tools: [calculator, get_time]}\n" +
                           "ports:\n  range: " + std::to_string(base + 2) + "-" + std::to_string(base + 9) + "\n" +
                           "models:\n  default:\n    model: " + model.string() + "\n    port: " +
                           std::to_string(base + 2) + "\n    args: [--ctx-size, \"1024\"]\n    startup_timeout: 120\n")
                 .string();
  }
};

llmdesk::gui::LinkOptions Link(const std::string& config) {
  return {.config_path = QString::fromStdString(config),
          .llmdesk_program = QString::fromStdString(llmdesk::test::BinPath("llmdesk").string())};
}

// ---- child: show a window, say "shown" on the first paint; the app child then reports its idle RSS ------------
class FirstPaint : public QObject {
 public:
  std::function<void()> on_paint;
  bool eventFilter(QObject* o, QEvent* e) override {
    if (e->type() == QEvent::Paint && on_paint) {
      auto f = std::move(on_paint);
      on_paint = nullptr;
      f();
    }
    return QObject::eventFilter(o, e);
  }
};

int Child(const std::string& mode, const std::string& config) {
  int argc = 1;
  char name[] = "llmdesk-gui-bench";
  char* argv[] = {name, nullptr};
  QApplication app(argc, argv);
  app.setStyleSheet(llmdesk::gui::AppStyleSheet());
  FirstPaint paint;
  paint.on_paint = [] { std::printf("shown\n"), std::fflush(stdout); };
  std::unique_ptr<QMainWindow> window;
  llmdesk::gui::MainWindow* app_window = nullptr;
  if (mode == "app") window.reset(app_window = new llmdesk::gui::MainWindow(Link(config)));
  else window = std::make_unique<QMainWindow>();
  window->installEventFilter(&paint);
  window->resize(1040, 700);
  window->show();
  if (!app_window) {
    QTimer::singleShot(1000, [] {
      std::printf("rss %ld\n", RssKiB()), std::fflush(stdout);
      QApplication::quit();
    });
    return app.exec();
  }
  app_window->Start();
  // Idle: attached to its serve, tabs filled, then 3 s of nothing.
  QTimer poll;
  QObject::connect(&poll, &QTimer::timeout, [&] {
    if (!app_window->link().ready()) return;
    poll.stop();
    QTimer::singleShot(3000, [&] {
      std::printf("rss %ld\n", RssKiB()), std::fflush(stdout);
      app_window->close();
    });
  });
  poll.start(50);
  QTimer quit_when_done;
  QObject::connect(&quit_when_done, &QTimer::timeout, [&] {
    if (app_window->shut_down()) QApplication::quit();
  });
  quit_when_done.start(50);
  return app.exec();
}

struct ChildFigures {
  double shown_ms = 0;
  long rss_kib = -1;
};

ChildFigures RunChild(const std::string& self, const std::string& mode, const std::string& config) {
  llmdesk::test::SpawnOptions o;
  o.argv = {self, "--child", mode, config};
  o.out = llmdesk::test::Stdio::Pipe();
  o.err = llmdesk::test::Stdio::Null();
  const auto t0 = Clock::now();
  auto child = llmdesk::test::SpawnProcess(o);
  ChildFigures f;
  std::string buffer;
  char chunk[512];
  for (;;) {
    pollfd p{child.stdout_fd().get(), POLLIN, 0};
    if (poll(&p, 1, 60000) <= 0) break;
    ssize_t n = read(child.stdout_fd().get(), chunk, sizeof chunk);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<size_t>(n));
    if (f.shown_ms == 0 && buffer.find("shown\n") != std::string::npos) f.shown_ms = Ms(Clock::now() - t0);
  }
  if (auto at = buffer.find("rss "); at != std::string::npos) f.rss_kib = std::atol(buffer.c_str() + at + 4);
  child.Wait(60s);
  return f;
}

// ---- stalls: heartbeat on the UI thread, watchdog off it ---------------------------------------------------
class StallMeter {
 public:
  StallMeter() {
    beat_.setTimerType(Qt::PreciseTimer);
    beat_.setInterval(10);
    QObject::connect(&beat_, &QTimer::timeout, [this] { last_beat_ns_ = Now(); });
    watchdog_ = std::thread([this] { Watch(); });
  }
  ~StallMeter() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    watchdog_.join();
  }
  void Begin() {
    last_beat_ns_ = Now();
    worst_ns_ = 0;
    beat_.start();
  }
  double End() {  // the longest time the UI thread went without a beat, minus the beat's own period
    beat_.stop();
    return std::max(0.0, static_cast<double>(worst_ns_.load()) / 1e6 - 10.0);
  }

 private:
  static int64_t Now() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }
  void Watch() {  // samples every millisecond: a hang is seen while it lasts, not only after it
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, 1ms, [this] { return stop_; })) {
      if (!beat_active_()) continue;
      const int64_t gap = Now() - last_beat_ns_.load();
      if (gap > worst_ns_.load()) worst_ns_ = gap;
    }
  }
  bool beat_active_() const { return last_beat_ns_.load() != 0; }
  QTimer beat_;
  std::atomic<int64_t> last_beat_ns_{0}, worst_ns_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread watchdog_;
};

}  // namespace

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  if (argc >= 4 && std::string(argv[1]) == "--child") return Child(argv[2], argv[3]);
  int runs = 5;
  if (argc >= 3 && std::string(argv[1]) == "--runs") runs = std::max(1, std::atoi(argv[2]));
  const std::string self = std::filesystem::canonical("/proc/self/exe").string();

  World world;
  std::vector<double> bare_ms, app_ms;
  long bare_rss = 0, app_rss = 0;
  for (int i = 0; i < runs; ++i) {
    auto bare = RunChild(self, "bare", world.config);
    auto full = RunChild(self, "app", world.config);
    bare_ms.push_back(bare.shown_ms), app_ms.push_back(full.shown_ms);
    bare_rss = std::max(bare_rss, bare.rss_kib), app_rss = std::max(app_rss, full.rss_kib);
  }
  std::sort(bare_ms.begin(), bare_ms.end());
  std::sort(app_ms.begin(), app_ms.end());

  QApplication app(argc, argv);
  app.setStyleSheet(llmdesk::gui::AppStyleSheet());
  llmdesk::gui::MainWindow window(Link(world.config));
  window.resize(1040, 700);
  window.show();
  window.Start();
  StallMeter meter;
  if (!QTest::qWaitFor([&] { return window.link().ready(); }, 60000)) return std::fprintf(stderr, "bench: no serve\n"), 1;
  meter.Begin();
  QTest::qWait(3000);  // the baseline: the same window, attached and idle for 3 s
  const double idle_stall = meter.End();

  meter.Begin();
  const auto t0 = Clock::now();
  window.findChild<QCheckBox*>("enableToolUse")->setChecked(true);
  window.findChild<QPlainTextEdit*>("chatInput")->setPlainText("What's 2+2?");
  window.chat()->Send();
  const bool done = QTest::qWaitFor([&] { return !window.chat()->busy(); }, 240000);
  const double chat_ms = Ms(Clock::now() - t0);
  const double chat_stall = meter.End();
  const auto cards = window.chat()->tool_cards();
  const bool answered = done && cards.size() == 1 && cards.front()->result() == "4";
  window.close();
  QTest::qWaitFor([&] { return window.shut_down(); }, 60000);

  std::printf("llmdesk-gui bench (%d runs, offscreen; medians)\n", runs);
  std::printf("  cold start to window shown   app %7.1f ms   empty QMainWindow %7.1f ms   ratio %.2f   (goal <= 500 ms)\n",
              app_ms[app_ms.size() / 2], bare_ms[bare_ms.size() / 2], app_ms[app_ms.size() / 2] / bare_ms[bare_ms.size() / 2]);
  std::printf("  idle RSS                     app %7.1f MiB  empty QMainWindow %7.1f MiB  ratio %.2f   (goal <= 100 MB)\n",
              app_rss / 1024.0, bare_rss / 1024.0, bare_rss ? double(app_rss) / bare_rss : 0.0);
  std::printf("  longest UI stall             server start + tool chat %6.1f ms   idle %6.1f ms   (goal <= 50 ms)\n",
              chat_stall, idle_stall);
  std::printf("  the chat: %s in %.0f ms\n", answered ? "answered through calculator" : "DID NOT ANSWER", chat_ms);
  return answered ? 0 : 1;
}
