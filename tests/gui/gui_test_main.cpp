// The GUI tests' main: a QApplication (offscreen unless the caller chose a platform) around GoogleTest.
#include <gtest/gtest.h>

#include <QApplication>

#include "main_window.h"

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  QApplication::setOrganizationName("llmdesk-test");
  QApplication::setApplicationName("llmdesk-gui-test");
  app.setStyleSheet(llmdesk::gui::AppStyleSheet());
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
