// llmdesk-gui — Qt 6 desktop front end. For now: a window listing the configured backends.
// The Test Chat tab and live backend control arrive with the chat and GUI issues.
#include <QApplication>
#include <QHeaderView>
#include <QLabel>
#include <QMainWindow>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include "config/config.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("llmdesk");
  QApplication::setApplicationVersion(LLMDESK_VERSION);

  auto env = llmdesk::config::ProcessEnv();
  auto path = llmdesk::config::FindConfigFile(std::nullopt, env);
  llmdesk::config::LoadResult loaded;
  loaded.config = llmdesk::config::Defaults(env);
  if (path) loaded = llmdesk::config::LoadFile(*path, env);

  QMainWindow window;
  window.setWindowTitle(QString("llmdesk %1").arg(LLMDESK_VERSION));
  auto* tabs = new QTabWidget;
  auto* backends = new QWidget;
  auto* layout = new QVBoxLayout(backends);
  QString source = path ? QString::fromStdString(path->string()) : QString("built-in defaults");
  QString problems;
  for (const auto& d : loaded.diagnostics) problems += QString::fromStdString(d.ToString()) + "\n";
  layout->addWidget(new QLabel("Config: " + source + (problems.isEmpty() ? "" : "\n" + problems)));
  auto* table = new QTableWidget(static_cast<int>(loaded.config.models.size()), 3);
  table->setHorizontalHeaderLabels({"Model", "Port", "Source"});
  table->horizontalHeader()->setStretchLastSection(true);
  int row = 0;
  for (const auto& m : loaded.config.models) {
    std::string where = !m.url.empty() ? m.url : !m.hf.empty() ? "hf: " + m.hf : m.model;
    table->setItem(row, 0, new QTableWidgetItem(QString::fromStdString(m.name)));
    table->setItem(row, 1, new QTableWidgetItem(m.port ? QString::number(m.port) : QString("auto")));
    table->setItem(row, 2, new QTableWidgetItem(QString::fromStdString(where)));
    ++row;
  }
  layout->addWidget(table);
  tabs->addTab(backends, "Backends");
  window.setCentralWidget(tabs);
  window.resize(720, 420);
  window.show();
  return QApplication::exec();
}
