// tests/gui/gui_fixture.cpp — see gui_fixture.h.
#include "gui_fixture.h"

#include <QCoreApplication>
#include <QDir>
#include <QSet>
#include <QSettings>
#include <QTabWidget>
#include <QTest>
#include <cstdlib>

#include "support/child_process.h"

namespace llmdesk::test {

using namespace std::chrono_literals;

void GuiTest::SetUp() {
  const int base = FreePortRange(10);
  gateway_ = base;
  tool_port_ = base + 1;
  model_port_ = base + 2;
  // The app and the `llmdesk serve` it starts read these (QSettings, state, history, runtime lock).
  for (auto [key, sub] : {std::pair{"XDG_RUNTIME_DIR", "run"}, std::pair{"XDG_STATE_HOME", "state"},
                          std::pair{"XDG_DATA_HOME", "data"}, std::pair{"XDG_CONFIG_HOME", "config"}}) {
    const char* old = std::getenv(key);
    saved_env_[key] = old ? old : "";
    std::filesystem::create_directories(dir_.path() / sub);
    setenv(key, (dir_.path() / sub).c_str(), 1);
  }
  unsetenv("LLMDESK_CONFIG");
  std::filesystem::permissions(dir_.path() / "run", std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
}

void GuiTest::TearDown() {
  if (window_) CloseWindow();
  for (const auto& [key, value] : saved_env_) {
    if (value.empty()) unsetenv(key.c_str());
    else setenv(key.c_str(), value.c_str(), 1);
  }
}

std::string GuiTest::MakeAnswerModel() { return MakeAnswerAfterToolModel(dir_.path()); }

std::string GuiTest::LocalModel(int port) {
  return "  default:\n    model: " + MakeAnswerModel() + "\n    port: " + std::to_string(port) +
         "\n    args: [--ctx-size, \"1024\"]\n    startup_timeout: 120\n";
}

std::string GuiTest::WriteConfig(const std::string& models, const std::string& extra) {
  std::string yaml = "engine:\n  llama_server: " + LlamaServerPath().string() + "\n" +
                     "gateway: {host: 127.0.0.1, port: " + std::to_string(gateway_) +
                     (gateway_token_.empty() ? "" : ", token: " + gateway_token_) + "}\n" +
                     "tool_server: {port: " + std::to_string(tool_port_) + ", tools: [calculator, get_time]}\n" +
                     "ports:\n  on_conflict: fallback\n  range: " + std::to_string(model_port_) + "-" +
                     std::to_string(model_port_ + 7) + "\n" + extra + "models:\n" + models;
  return dir_.Write("llm_backends.yaml", yaml).string();
}

gui::MainWindow& GuiTest::OpenWindow() {
  window_ = std::make_unique<gui::MainWindow>(
      gui::LinkOptions{.config_path = QString::fromStdString((dir_.path() / "llm_backends.yaml").string()),
                       .llmdesk_program = QString::fromStdString(BinPath("llmdesk").string())});
  if (!QSettings().contains("window/geometry")) window_->resize(1100, 720);  // else: what the app restored
  window_->show();
  window_->Start();
  return *window_;
}

void GuiTest::CloseWindow() {
  window_->close();
  EXPECT_TRUE(WaitFor([&] { return window_->shut_down(); }, 60s)) << "the app did not stop its llmdesk serve";
  window_.reset();
}

bool GuiTest::WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  return QTest::qWaitFor(done, static_cast<int>(timeout.count()));
}

QImage GuiTest::Screenshot(int tab, const QString& name) {
  window_->tabs()->setCurrentIndex(tab);
  QCoreApplication::processEvents();  // the tab lays itself out
  QImage image = window_->grab().toImage();
  QDir().mkpath(LLMDESK_TEST_OUTPUT_DIR);
  EXPECT_TRUE(image.save(QString(LLMDESK_TEST_OUTPUT_DIR) + "/" + name + ".png")) << name.toStdString();
  return image;
}

int GuiTest::DistinctColours(const QImage& image) {
  QSet<QRgb> colours;
  for (int y = 0; y < image.height(); y += 3)
    for (int x = 0; x < image.width(); x += 3) colours.insert(image.pixel(x, y));
  return colours.size();
}

}  // namespace llmdesk::test
