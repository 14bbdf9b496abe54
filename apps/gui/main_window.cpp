// apps/gui/main_window.cpp — see main_window.h.
#include "main_window.h"

#include <QCloseEvent>
#include <QLabel>
#include <QPainter>
#include <QSettings>
#include <QShortcut>
#include <QStatusBar>
#include <QTabBar>
#include <QTabWidget>
#include <QVBoxLayout>

#include "chat_tab.h"
#include "logs_tab.h"
#include "servers_tab.h"
#include "settings_tab.h"
#include "tools_tab.h"

namespace llmdesk::gui {

MainWindow::MainWindow(LinkOptions options, QWidget* parent) : QMainWindow(parent) {
  setWindowTitle("llmdesk");
  setWindowIcon(AppIcon());
  api_ = new ControlApi(this);
  link_ = new StackLink(*api_, std::move(options), this);

  auto* central = new QWidget;
  auto* layout = new QVBoxLayout(central);
  layout->setContentsMargins(6, 6, 6, 0);
  problem_ = new QLabel;
  problem_->setObjectName("problemBanner");
  problem_->setWordWrap(true);
  problem_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  problem_->hide();
  layout->addWidget(problem_);
  tabs_ = new QTabWidget;
  tabs_->setObjectName("tabs");
  tabs_->setDocumentMode(true);
  tabs_->tabBar()->setDrawBase(false);
  chat_ = new ChatTab(*api_);
  servers_ = new ServersTab(*api_, *link_);
  logs_ = new LogsTab(*api_);
  settings_ = new SettingsTab;
  tools_ = new ToolsTab(*api_);
  tabs_->addTab(chat_, "Test Chat");
  tabs_->addTab(servers_, "Servers");
  tabs_->addTab(tools_, "Tools");
  tabs_->addTab(logs_, "Logs");
  tabs_->addTab(settings_, "Settings");
  layout->addWidget(tabs_, 1);
  setCentralWidget(central);
  status_ = new QLabel;
  status_->setObjectName("linkStatus");
  statusBar()->addWidget(status_, 1);

  for (int i = 0; i < tabs_->count(); ++i) {
    auto* s = new QShortcut(QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)), this);
    connect(s, &QShortcut::activated, this, [this, i] { tabs_->setCurrentIndex(i); });
  }
  auto* send = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return), chat_);
  send->setContext(Qt::WidgetWithChildrenShortcut);
  connect(send, &QShortcut::activated, chat_, &ChatTab::Send);
  auto* send_enter = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Enter), chat_);
  send_enter->setContext(Qt::WidgetWithChildrenShortcut);
  connect(send_enter, &QShortcut::activated, chat_, &ChatTab::Send);
  auto* stop = new QShortcut(QKeySequence(Qt::Key_Escape), chat_);
  stop->setContext(Qt::WidgetWithChildrenShortcut);
  connect(stop, &QShortcut::activated, chat_, &ChatTab::Stop);

  link_->on_status = [this](const QString& text) { status_->setText(text); };
  link_->on_failed = [this](const QString& text) { ShowProblem(text); };
  link_->on_ready = [this] { OnReady(); };
  settings_->on_saved = [this](const QString& file) { ApplySaved(file); };

  QSettings settings;
  if (!restoreGeometry(settings.value("window/geometry").toByteArray())) resize(1040, 700);
  tabs_->setCurrentIndex(settings.value("window/tab", 0).toInt());
}

MainWindow::~MainWindow() = default;

void MainWindow::Start() { link_->Connect(); }

void MainWindow::ShowProblem(const QString& text) {
  problem_->setText(text);
  problem_->setVisible(!text.isEmpty());
}

// The Settings tab saved the file: the stack re-reads and applies it (no restart of the app), and the tabs follow.
void MainWindow::ApplySaved(const QString& file) {
  status_->setText("Saved " + file + "; applying it…");
  link_->Reload([this, file](Result<std::vector<std::string>> lines) {
    if (!lines.ok()) {
      const QString why = QString::fromStdString(lines.status().message());
      settings_->ShowOutcome({"Saved " + file + ", but the stack did not apply it:", why}, /*refused=*/true);
      status_->setText("The stack did not apply the saved config");
      return;
    }
    QStringList shown;
    for (const auto& l : *lines) shown << QString::fromStdString(l);
    if (!shown.isEmpty()) shown[0][0] = shown[0][0].toUpper();
    settings_->ShowOutcome(shown, /*refused=*/false);
    status_->setText("Applied " + file);
    ShowTabs();
  });
}

void MainWindow::OnReady() {
  ShowProblem("");
  ShowTabs();
  settings_->Load(link_->config_file(), link_->config());
}

void MainWindow::ShowTabs() {
  const auto& cfg = link_->config();
  QStringList models, spawned;
  for (const auto& m : cfg.models) {
    models << QString::fromStdString(m.name);
    if (m.kind != config::ModelConfig::Kind::kRemote) spawned << QString::fromStdString(m.name);
  }
  setWindowTitle(QString("llmdesk — %1").arg(link_->config_file().isEmpty() ? "built-in defaults" : link_->config_file()));
  chat_->SetModels(models);
  chat_->RefreshHistory();
  servers_->Attach();
  logs_->SetBackends(spawned);
  tools_->Refresh();
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (shut_down_) return event->accept();
  event->ignore();
  if (closing_) return;
  closing_ = true;
  QSettings settings;
  settings.setValue("window/geometry", saveGeometry());
  settings.setValue("window/tab", tabs_->currentIndex());
  if (link_->started_serve()) status_->setText("stopping llmdesk serve…");
  hide();
  link_->Shutdown([this] {
    shut_down_ = true;
    close();
  });
}

QString AppStyleSheet() {
  return R"(
    QMainWindow, QWidget#messageListBody { background: #f7f8fa; }
    QTabWidget::pane { border: none; }
    QSplitter::handle { background: transparent; }
    QSplitter::handle:horizontal { width: 6px; }
    QTabBar::tab { padding: 7px 16px; margin-right: 2px; border: none; border-bottom: 2px solid transparent;
                   background: transparent; color: #4b5563; }
    QTabBar::tab:selected { font-weight: bold; color: #111827; border-bottom: 2px solid #3b6fd8; }
    QTabBar::tab:hover:!selected { color: #111827; border-bottom: 2px solid #c7d2e6; }
    QFrame#userMessage { background: #e3ecfd; border-radius: 10px; margin-left: 80px; }
    QFrame#assistantMessage { background: #ffffff; border: 1px solid #e1e4ea; border-radius: 10px; margin-right: 80px; }
    QFrame#noteMessage { background: #fdecea; border-radius: 10px; }
    QLabel#messageRole { color: #6b7280; font-size: 11px; font-weight: bold; }
    QFrame#toolCard { background: #fbfaf5; border: 1px solid #e6dfc8; border-left: 4px solid #d4a72c;
                      border-radius: 6px; margin-right: 80px; }
    QFrame#toolCard[state="ok"] { border-left-color: #2e7d32; }
    QFrame#toolCard[state="error"] { border-left-color: #b3261e; }
    QLabel#toolCardStatus { color: #6b7280; }
    QLabel#progressLine { color: #4b5563; font-style: italic; padding: 2px 4px; }
    QFrame#approvalBar { background: #fff6db; border: 1px solid #f0d58a; border-radius: 6px; }
    QFrame#portConflictBanner { background: #fdecea; border: 1px solid #f3b8b3; border-radius: 6px; }
    QLabel#settingsStatus[outcome="applied"] { background: #e8f5e9; border: 1px solid #b7dfb9; border-radius: 6px; padding: 6px; }
    QLabel#settingsStatus[outcome="refused"] { background: #fdecea; border: 1px solid #f3b8b3; border-radius: 6px; padding: 6px; }
    QLabel#problemBanner { background: #fdecea; border: 1px solid #f3b8b3; border-radius: 6px; padding: 8px; }
    QPlainTextEdit#chatInput { background: #ffffff; border: 1px solid #cfd5de; border-radius: 6px; padding: 4px; }
    QPushButton { padding: 5px 14px; }
    QTableView { background: #ffffff; alternate-background-color: #f3f5f8; selection-background-color: #dbe6fb;
                 selection-color: #111; }
  )";
}

QIcon AppIcon() {
  QPixmap pixmap(64, 64);
  pixmap.fill(Qt::transparent);
  QPainter p(&pixmap);
  p.setRenderHint(QPainter::Antialiasing);
  p.setBrush(QColor("#3b6fd8"));
  p.setPen(Qt::NoPen);
  p.drawRoundedRect(2, 2, 60, 60, 14, 14);
  p.setPen(Qt::white);
  QFont f;
  f.setBold(true);
  f.setPixelSize(34);
  p.setFont(f);
  p.drawText(pixmap.rect(), Qt::AlignCenter, "ld");
  return QIcon(pixmap);
}

}  // namespace llmdesk::gui
