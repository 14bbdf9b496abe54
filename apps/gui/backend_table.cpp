// apps/gui/backend_table.cpp — see backend_table.h.
#include "backend_table.h"

#include <QBrush>
#include <QColor>
#include <QFont>
#include <QStringList>

#include "json_fields.h"

#include "control/control.h"

namespace llmdesk::gui {

namespace {

using Json = nlohmann::json;

QColor StateColor(const QString& state) {
  if (state == "ready" || state == "running") return QColor("#1e7d32");
  if (state == "starting" || state == "stopping") return QColor("#b26a00");
  if (state == "failed" || state == "held by another program") return QColor("#b3261e");
  return QColor("#5f6368");
}

// Issue 14: the RPC workers of a split model, with what the last check found: "  [RPC 10.0.0.5:50052 answering, ...]".
QString RpcWorkersText(const Json& backend) {
  auto workers = backend.find("rpc_workers");
  if (workers == backend.end() || !workers->is_array() || workers->empty()) return {};
  QStringList parts;
  for (const auto& w : *workers)
    if (w.is_object()) parts << JStr(w, "address") + " " + JStr(w, "state");
  return "  [RPC " + parts.join(", ") + "]";
}

}  // namespace

QString FormatUptime(qint64 s) {
  if (s < 0) return "";
  if (s < 60) return QString("%1 s").arg(s);
  if (s < 3600) return QString("%1 min %2 s").arg(s / 60).arg(s % 60);
  return QString("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

QString FormatBytes(qint64 b) {
  if (b < 0) return "";
  if (b < 1024 * 1024) return QString("%1 KiB").arg(b / 1024);
  return QString("%1 MiB").arg(double(b) / (1024 * 1024), 0, 'f', 1);
}

void BackendTable::SetBackends(const Json& list, const config::Config& config) {
  QHash<qint64, qint64> rss;
  for (const auto& r : rows_) rss.insert(r.pid, r.rss_bytes);
  QVector<ServerRow> rows;
  if (list.is_array()) {
    for (const auto& b : list) {
      if (!b.is_object()) continue;
      ServerRow r;
      r.name = JStr(b, "name");
      r.kind = JStr(b, "kind");
      r.state = JStr(b, "state");
      r.reason = JStr(b, "reason");
      if (auto status = control::BackendStatusFromJson(b); status.ok()) {
        const auto& place = status->placement;
        r.placement = QString::fromStdString(control::FormatPlacement(place) +
                                             (place.note.empty() ? "" : " — " + place.note));
      }
      r.configured_port = static_cast<int>(JInt(b, "configured_port"));
      r.port = static_cast<int>(JInt(b, "port"));
      r.pid = JInt(b, "pid");
      auto p = b.find("progress");
      r.progress = p != b.end() && p->is_number() ? p->get<double>() : -1;
      r.since = QDateTime::fromString(JStr(b, "since"), Qt::ISODateWithMs);
      r.rss_bytes = r.pid ? rss.value(r.pid, -1) : -1;
      if (const auto* m = config.FindModel(r.name.toStdString()))
        r.model = QString::fromStdString(!m->url.empty() ? m->url : !m->hf.empty() ? "hf: " + m->hf : m->model);
      r.model += RpcWorkersText(b);
      rows.push_back(r);
    }
  }
  beginResetModel();
  rows_ = rows;
  endResetModel();
}

void BackendTable::SetServices(const Json& stack, qint64 daemon_pid) {
  QVector<ServerRow> services;
  auto listeners = stack.is_object() ? stack.find("listeners") : stack.end();
  if (stack.is_object() && listeners != stack.end() && listeners->is_array()) {
    for (const auto& l : *listeners) {
      if (!l.is_object()) continue;
      ServerRow r;
      r.name = JStr(l, "name");
      r.model = r.name == "gateway" ? QString("control API + OpenAI /v1") : r.name == "tool server" ? QString("MCP tools (/mcp)") : JStr(l, "url");
      r.configured_port = static_cast<int>(JInt(l, "configured_port"));
      r.port = static_cast<int>(JInt(l, "port"));  // the port the stack bound, not the configured one
      r.reason = JStr(l, "url");
      r.is_backend = false;
      r.state = r.port ? "running" : "not listening";
      r.pid = r.port ? daemon_pid : 0;
      for (const auto& old : services_)
        if (old.name == r.name && old.pid == r.pid) r.rss_bytes = old.rss_bytes, r.since = old.since;
      if (r.state == "running" && !r.since.isValid()) r.since = QDateTime::currentDateTime();
      services.push_back(r);
    }
  }
  beginResetModel();
  services_ = services;
  endResetModel();
}

void BackendTable::SetProgress(const QString& name, double progress, const QString& stage) {
  const int row = RowOf(name);
  if (row < 0 || row >= rows_.size()) return;
  rows_[row].progress = progress;
  rows_[row].stage = stage;
  emit dataChanged(index(row, 0), index(row, kColumns - 1));
}

void BackendTable::SetMemory(const QHash<qint64, qint64>& rss) {
  for (auto& r : rows_) r.rss_bytes = r.pid ? rss.value(r.pid, -1) : -1;
  for (auto& r : services_) r.rss_bytes = r.pid ? rss.value(r.pid, -1) : -1;
  if (rowCount()) emit dataChanged(index(0, kMemory), index(rowCount() - 1, kMemory));
}

void BackendTable::Tick() {
  if (rowCount()) emit dataChanged(index(0, kUptime), index(rowCount() - 1, kUptime));
}

const ServerRow* BackendTable::Row(int row) const {
  if (row < 0) return nullptr;
  if (row < rows_.size()) return &rows_[row];
  row -= static_cast<int>(rows_.size());
  return row < services_.size() ? &services_[row] : nullptr;
}

int BackendTable::RowOf(const QString& name) const {
  for (int i = 0; i < rowCount(); ++i)
    if (Row(i)->name == name) return i;
  return -1;
}

QVector<qint64> BackendTable::Pids() const {
  QVector<qint64> pids;
  for (int i = 0; i < rowCount(); ++i)
    if (Row(i)->pid > 0 && !pids.contains(Row(i)->pid)) pids << Row(i)->pid;
  return pids;
}

int BackendTable::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size() + services_.size());
}
int BackendTable::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kColumns; }

QVariant BackendTable::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* const kNames[] = {"Name", "Model", "Port", "State", "PID", "Uptime", "Memory"};
  return section >= 0 && section < kColumns ? QString(kNames[section]) : QVariant();
}

QVariant BackendTable::data(const QModelIndex& index, int role) const {
  const ServerRow* r = Row(index.row());
  if (!r) return {};
  if (role == Qt::ForegroundRole && index.column() == kState) return QBrush(StateColor(r->state));
  if (role == Qt::FontRole && (index.column() == kState || index.column() == kName)) {
    QFont f;
    f.setBold(true);
    return f;
  }
  if (role == Qt::ToolTipRole) return r->reason.isEmpty() ? QVariant() : QVariant(r->reason);
  if (role == Qt::TextAlignmentRole && (index.column() == kPid || index.column() == kMemory || index.column() == kPort))
    return int(Qt::AlignRight | Qt::AlignVCenter);
  if (role != Qt::DisplayRole) return {};
  switch (index.column()) {
    case kName: return r->name;
    case kModel: return r->model;
    case kPort: {
      const QString configured = r->configured_port ? QString::number(r->configured_port) : QString("auto");
      if (!r->port || r->port == r->configured_port) return r->port ? QString::number(r->port) : configured;
      return configured + " → " + QString::number(r->port);
    }
    case kState:
      if (r->state == "starting" && !r->stage.isEmpty()) return "starting (" + r->stage + ")";
      return r->state;
    case kPid: return r->pid ? QString::number(r->pid) : QString("–");
    case kUptime:
      return (r->state == "ready" || r->state == "running") && r->since.isValid()
                 ? FormatUptime(r->since.secsTo(QDateTime::currentDateTime()))
                 : QString("–");
    case kMemory: return r->rss_bytes >= 0 ? FormatBytes(r->rss_bytes) : QString("–");
  }
  return {};
}

}  // namespace llmdesk::gui
