// tests/gui/gui_fixture.h — a scratch XDG world for the desktop app: generated models, a config on free ports,
// the app's window pointed at it (it starts `llmdesk serve` itself), waiting on the event loop, screenshots.
#pragma once

#include <gtest/gtest.h>

#include <QImage>
#include <QString>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "main_window.h"
#include "support/test_support.h"

namespace llmdesk::test {

class GuiTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The generated model: calls calculator {"expression":"2+2"}, then answers "The sum is <the result>".
  std::string MakeAnswerModel();
  // gateway (with gateway_token_ when set), tool server and `models` (YAML lines under models:), plus `extra`
  // top-level YAML.
  std::string WriteConfig(const std::string& models, const std::string& extra = "");
  std::string LocalModel(int port);

  // The window, started against the config (the app starts `llmdesk serve` itself).
  gui::MainWindow& OpenWindow();
  // Closes the window and waits until what it started has exited.
  void CloseWindow();

  // Runs the event loop until `done` or the timeout; true when done.
  static bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout);
  // Renders the window with `tab` selected to test-output/gui/NAME.png; the image, for checks.
  QImage Screenshot(int tab, const QString& name);
  // How many distinct colours an image has (a blank render has one or two).
  static int DistinctColours(const QImage& image);

  TempDir dir_;
  int gateway_ = 0, tool_port_ = 0, model_port_ = 0;
  std::string gateway_token_;
  std::unique_ptr<gui::MainWindow> window_;
  std::map<std::string, std::string> saved_env_;
};

}  // namespace llmdesk::test
