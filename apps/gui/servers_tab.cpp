// apps/gui/servers_tab.cpp — see servers_tab.h.
#include "servers_tab.h"

#include <QFile>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>
#include <unistd.h>

#include "backend_table.h"
#include "background.h"
#include "json_fields.h"
#include "stack_link.h"

namespace llmdesk::gui {

namespace {

QString Q(const std::string& s) { return QString::fromStdString(s); }

// Resident set size of each PID from /proc/PID/statm (off the UI thread).
QHash<qint64, qint64> ReadRss(const QVector<qint64>& pids) {
  QHash<qint64, qint64> out;
  const long page = sysconf(_SC_PAGESIZE);
  for (qint64 pid : pids) {
    QFile f(QString("/proc/%1/statm").arg(pid));
    if (!f.open(QIODevice::ReadOnly)) continue;
    const QList<QByteArray> fields = f.readAll().split(' ');
    if (fields.size() > 1) out.insert(pid, fields[1].toLongLong() * page);
  }
  return out;
}

}  // namespace

ServersTab::ServersTab(ControlApi& api, StackLink& link, QWidget* parent)
    : QWidget(parent), api_(api), link_(link), table_(new BackendTable(this)) {
  auto* layout = new QVBoxLayout(this);

  banner_ = new QFrame;
  banner_->setObjectName("portConflictBanner");
  auto* b = new QHBoxLayout(banner_);
  banner_text_ = new QLabel;
  banner_text_->setObjectName("portConflictText");
  banner_text_->setWordWrap(true);
  next_port_ = new QPushButton("Use next free port");
  next_port_->setObjectName("useNextFreePort");
  auto* retry = new QPushButton("Retry");
  retry->setObjectName("retryPort");
  b->addWidget(banner_text_, 1);
  b->addWidget(next_port_);
  b->addWidget(retry);
  banner_->hide();
  layout->addWidget(banner_);

  view_ = new QTableView;
  view_->setObjectName("serversTable");
  view_->setModel(table_);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->verticalHeader()->hide();
  view_->setAlternatingRowColors(true);
  view_->setShowGrid(false);
  view_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  view_->horizontalHeader()->setSectionResizeMode(BackendTable::kModel, QHeaderView::Stretch);
  layout->addWidget(view_, 1);

  auto* actions = new QHBoxLayout;
  start_ = new QPushButton("Start");
  start_->setObjectName("startBackend");
  stop_ = new QPushButton("Stop");
  stop_->setObjectName("stopBackend");
  restart_ = new QPushButton("Restart");
  restart_->setObjectName("restartBackend");
  progress_ = new QProgressBar;
  progress_->setObjectName("loadProgress");
  progress_->setMaximumWidth(220);
  progress_->hide();
  detail_ = new QLabel;
  detail_->setObjectName("serverDetail");
  detail_->setWordWrap(true);
  actions->addWidget(start_);
  actions->addWidget(stop_);
  actions->addWidget(restart_);
  actions->addSpacing(12);
  actions->addWidget(progress_);
  actions->addWidget(detail_, 1);
  layout->addLayout(actions);

  connect(start_, &QPushButton::clicked, this, [this] { Act("start"); });
  connect(stop_, &QPushButton::clicked, this, [this] { Act("stop"); });
  connect(restart_, &QPushButton::clicked, this, [this] { Act("restart"); });
  connect(retry, &QPushButton::clicked, this, [this] { RefreshPorts(); });
  connect(next_port_, &QPushButton::clicked, this, [this] {
    SelectBackend(banner_backend_);
    Act("start");  // the manager moves to the next free port of ports.range (on_conflict: fallback)
  });
  connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] { UpdateButtons(); });
  // Every refresh resets the model: keep the person's selection across it.
  connect(table_, &QAbstractItemModel::modelAboutToBeReset, this, [this] {
    const ServerRow* row = table_->Row(view_->currentIndex().row());
    kept_selection_ = row ? row->name : QString();
  });
  connect(table_, &QAbstractItemModel::modelReset, this, [this] {
    // Until the person picks a row, the first row (a backend, once they are listed) is the selected one.
    if (!kept_selection_.isEmpty() && !auto_selection_) SelectBackend(kept_selection_);
    else if (table_->rowCount()) view_->selectRow(0);
    UpdateButtons();
  });
  connect(view_, &QTableView::pressed, this, [this] { auto_selection_ = false; });
  connect(table_, &QAbstractItemModel::dataChanged, this, [this] { UpdateButtons(); });

  tick_ = new QTimer(this);
  tick_->setInterval(2000);
  connect(tick_, &QTimer::timeout, this, [this] {
    table_->Tick();
    ReadMemory();
  });
  UpdateButtons();
}

void ServersTab::Attach() {
  if (events_) events_->deleteLater();  // attached again (a reload): one event stream
  Refresh();
  RefreshPorts();
  Follow();
  tick_->start();
}

QString ServersTab::banner_text() const { return banner_->isVisible() || !banner_->isHidden() ? banner_text_->text() : QString(); }

void ServersTab::SelectBackend(const QString& name) {
  auto_selection_ = false;
  const int row = table_->RowOf(name);
  if (row >= 0) view_->selectRow(row);
}

void ServersTab::Refresh() {
  api_.Get("/api/backends", [this](Result<Json> list) {
    if (!list.ok()) return detail_->setText("Cannot list the backends: " + Q(list.status().message()));
    table_->SetBackends(*list, link_.config());  // the selection survives (modelReset above)
    ReadMemory();
  });
}

void ServersTab::RefreshPorts() {
  api_.Get("/api/stack", [this](Result<Json> stack) {
    if (stack.ok()) table_->SetServices(*stack, link_.serve_pid());
  });
  api_.Get("/api/ports", [this](Result<Json> ports) {
    if (!ports.ok()) return;
    QStringList lines;
    banner_backend_.clear();
    for (const auto& u : *ports) {
      if (!u.is_object() || JStr(u, "owner") != "other") continue;
      const QString holder = JInt(u, "pid")
                                 ? QString("PID %1: %2").arg(JInt(u, "pid")).arg(JStr(u, "command"))
                                 : QString("another program (not visible to llmdesk)");
      QStringList users;
      if (u.contains("used_by") && u["used_by"].is_array())
        for (const auto& name : u["used_by"])
          if (name.is_string()) users << Q(name.get<std::string>());
      lines << QString("<b>Port %1 is held by %2</b> — wanted by %3")
                   .arg(JInt(u, "port"))
                   .arg(holder.toHtmlEscaped(), users.join(", ").toHtmlEscaped());
      for (const QString& user : users)
        if (user.startsWith("model ") && banner_backend_.isEmpty()) banner_backend_ = user.mid(6).section(' ', 0, 0);
    }
    banner_text_->setText(lines.join("<br>"));
    banner_->setVisible(!lines.isEmpty());
    next_port_->setVisible(!banner_backend_.isEmpty() && link_.config().ports.on_conflict == config::OnConflict::kFallback);
  });
}

void ServersTab::Follow() {
  events_ = api_.Stream(
      "/api/events", nullptr,
      [this](const std::string& event, const Json& data) {
        if (event == "log") return;
        if (on_backend_event) on_backend_event(event, data);
        if (event == "progress") {
          table_->SetProgress(JStr(data, "backend"), JNum(data, "progress", -1), JStr(data, "stage"));
          return;
        }
        if (event == "state") {
          Refresh();
          RefreshPorts();
        }
      },
      [this](Status s) {
        detail_->setText("The event stream ended: " + Q(s.ok() ? std::string("the daemon closed it") : s.message()));
      },
      this);
}

void ServersTab::Act(const QString& action) {
  const ServerRow* row = table_->Row(view_->currentIndex().row());
  if (!row || !row->is_backend) return;
  const QString name = row->name;
  detail_->setText(QString("%1 %2…").arg(action == "stop" ? "Stopping" : action == "start" ? "Starting" : "Restarting", name));
  api_.Post(QString("/api/backends/%1/%2").arg(name, action), Json::object(), [this, name, action](Result<Json> r) {
    if (!r.ok()) detail_->setText(QString("Cannot %1 %2: %3").arg(action, name, Q(r.status().message())));
    Refresh();
  });
}

void ServersTab::UpdateButtons() {
  const ServerRow* row = table_->Row(view_->currentIndex().row());
  const bool backend = row && row->is_backend && row->kind != "remote";
  const QString state = row ? row->state : QString();
  start_->setEnabled(backend && (state == "stopped" || state == "failed"));
  stop_->setEnabled(backend && (state == "ready" || state == "starting"));
  restart_->setEnabled(backend && state == "ready");
  const bool loading = row && state == "starting";
  progress_->setVisible(loading);
  if (loading) {
    if (row->progress >= 0) progress_->setRange(0, 100), progress_->setValue(static_cast<int>(row->progress * 100));
    else progress_->setRange(0, 0);
    progress_->setFormat(row->stage.isEmpty() ? QString("loading…") : row->stage);
  }
  // The selected row in words: what it is doing now, or why it failed.
  if (!row) return;
  if (loading) detail_->setText(QString("Starting %1…").arg(row->name));
  else if (state == "ready")
    detail_->setText(QString("%1 is ready on port %2").arg(row->name).arg(row->port) +
                     (row->placement.isEmpty() ? QString() : " — " + row->placement));
  else if (state == "failed") detail_->setText(row->reason.left(300));
  else if (state == "stopped") detail_->setText("");
}

void ServersTab::ReadMemory() {
  if (memory_pending_) return;
  memory_pending_ = true;
  const QVector<qint64> pids = table_->Pids();
  RunInBackground<QHash<qint64, qint64>>(
      this, [pids] { return ReadRss(pids); },
      [this](QHash<qint64, qint64> rss) {
        memory_pending_ = false;
        table_->SetMemory(rss);
      });
}

}  // namespace llmdesk::gui
