// llmdesk-gui — the Qt 6 desktop app (main_window.h). It attaches to the running `llmdesk up`/`serve` for its
// config, or starts `llmdesk serve --on-demand` and stops it when the window closes.
//   llmdesk-gui [--config FILE] [--llmdesk PROGRAM]
#include <QApplication>
#include <QCommandLineParser>

#include "main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("llmdesk");
  QApplication::setOrganizationName("llmdesk");
  QApplication::setApplicationVersion(LLMDESK_VERSION);
  QApplication::setDesktopFileName("llmdesk");

  QCommandLineParser parser;
  parser.setApplicationDescription("llmdesk — local LLM servers, tools and chat");
  parser.addHelpOption();
  parser.addVersionOption();
  QCommandLineOption config({"c", "config"}, "The llm_backends.yaml to use (default: the usual lookup).", "FILE");
  QCommandLineOption program("llmdesk", "The llmdesk CLI to start `serve` with (default: next to this program).",
                             "PROGRAM");
  parser.addOption(config);
  parser.addOption(program);
  parser.process(app);

  app.setStyleSheet(llmdesk::gui::AppStyleSheet());
  llmdesk::gui::MainWindow window({.config_path = parser.value(config), .llmdesk_program = parser.value(program)});
  window.show();
  window.Start();
  return QApplication::exec();
}
