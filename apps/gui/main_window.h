// apps/gui/main_window.h — the desktop app's window: the tabs (Test Chat, Servers, Tools, Logs, Settings), the link to
// the stack (stack_link.h), the status bar, shortcuts (Ctrl+Enter send, Esc stop, Ctrl+1..5 tabs) and the
// window geometry kept in QSettings. Closing it stops the `llmdesk serve` it started before the app quits.
#pragma once

#include <QMainWindow>

#include "stack_link.h"

class QLabel;
class QTabWidget;

namespace llmdesk::gui {

class ChatTab;
class ServersTab;
class LogsTab;
class SettingsTab;
class ToolsTab;

class MainWindow : public QMainWindow {
 public:
  explicit MainWindow(LinkOptions options, QWidget* parent = nullptr);
  ~MainWindow() override;

  void Start();  // connects to (or starts) the stack

  ChatTab* chat() const { return chat_; }
  ServersTab* servers() const { return servers_; }
  LogsTab* logs() const { return logs_; }
  SettingsTab* settings() const { return settings_; }
  ToolsTab* tools() const { return tools_; }
  QTabWidget* tabs() const { return tabs_; }
  StackLink& link() { return *link_; }
  bool shut_down() const { return shut_down_; }  // closed, and what it started has exited

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void OnReady();
  void ShowTabs();  // the config's models in the tabs, the servers and tools refreshed
  void ApplySaved(const QString& file);
  void ShowProblem(const QString& text);

  ControlApi* api_;
  StackLink* link_;
  QTabWidget* tabs_;
  QLabel* problem_;
  QLabel* status_;
  ChatTab* chat_;
  ServersTab* servers_;
  LogsTab* logs_;
  SettingsTab* settings_;
  ToolsTab* tools_;
  bool closing_ = false, shut_down_ = false;
};

// The app's look: a light, quiet style sheet for the cards, messages and banners.
QString AppStyleSheet();
QIcon AppIcon();

}  // namespace llmdesk::gui
