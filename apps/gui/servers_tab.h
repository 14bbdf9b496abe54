// apps/gui/servers_tab.h — the Servers tab: the backends, the tool server and the gateway in a table that
// /api/events keeps current; Start / Stop / Restart for the selected backend, a progress bar while it loads,
// and a banner when a configured port is held by another program ("port 10500 is held by PID 4242: python3 -m
// http.server") with "Use next free port" and "Retry". Memory (RSS) comes from /proc, read off the UI thread.
#pragma once

#include <QPointer>
#include <QWidget>

#include "control_api.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QTableView;
class QFrame;
class QTimer;

namespace llmdesk::gui {

class BackendTable;
class StackLink;

class ServersTab : public QWidget {
 public:
  ServersTab(ControlApi& api, StackLink& link, QWidget* parent = nullptr);
  void Attach();  // the link is ready: load and follow
  void Act(const QString& action);  // "start" | "stop" | "restart" on the selected backend
  void SelectBackend(const QString& name);

  BackendTable* table() const { return table_; }
  QString banner_text() const;  // "" when no banner is shown

  // Called with every backend state/progress event (the chat tab shows them too).
  std::function<void(const std::string& event, const Json& data)> on_backend_event;

 private:
  void Refresh();
  void RefreshPorts();
  void Follow();
  void UpdateButtons();
  void ReadMemory();

  ControlApi& api_;
  StackLink& link_;
  BackendTable* table_;
  QTableView* view_;
  QFrame* banner_;
  QLabel* banner_text_;
  QPushButton* next_port_;
  QString banner_backend_;  // the backend whose port is held
  QString kept_selection_;  // the selected row's name while the model resets
  bool auto_selection_ = true;  // no row picked by the person (or SelectBackend) yet
  QPushButton* start_;
  QPushButton* stop_;
  QPushButton* restart_;
  QProgressBar* progress_;
  QLabel* detail_;
  QPointer<SseStream> events_;
  QTimer* tick_;
  bool memory_pending_ = false;
};

}  // namespace llmdesk::gui
