// apps/gui/backend_table.h — the Servers tab's table model: one row per backend of the daemon (GET /api/backends,
// kept current by /api/events), then the tool server and the gateway (GET /api/stack). Columns: name, model, port (configured →
// actual), state (coloured), PID, uptime, memory (RSS, read from /proc off the UI thread by the tab).
#pragma once

#include <QAbstractTableModel>
#include <QDateTime>
#include <QHash>
#include <QVector>

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace llmdesk::gui {

struct ServerRow {
  QString name, kind, model, state, reason, stage;
  QString placement;        // where it runs: control::FormatPlacement, plus the CPU-fallback note (issue 15)
  int configured_port = 0, port = 0;
  qint64 pid = 0;
  double progress = -1;
  QDateTime since;          // when the current state began
  qint64 rss_bytes = -1;    // -1 = unknown
  bool is_backend = true;   // false: the tool server or the gateway (no start/stop from here)
};

class BackendTable : public QAbstractTableModel {
 public:
  enum Column { kName, kModel, kPort, kState, kPid, kUptime, kMemory, kColumns };
  explicit BackendTable(QObject* parent = nullptr) : QAbstractTableModel(parent) {}

  // Replaces the backend rows from GET /api/backends; the service rows (tool server, gateway) from GET /api/stack's
  // listeners: their configured and actually bound ports; the PID is the stack's.
  void SetBackends(const nlohmann::json& list, const config::Config& config);
  void SetServices(const nlohmann::json& stack, qint64 daemon_pid);
  // A progress event (/api/events) for one backend.
  void SetProgress(const QString& name, double progress, const QString& stage);
  void SetMemory(const QHash<qint64, qint64>& rss_by_pid);
  void Tick();  // uptimes moved on

  const ServerRow* Row(int row) const;
  int RowOf(const QString& name) const;
  QVector<qint64> Pids() const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

 private:
  QVector<ServerRow> rows_;      // backends
  QVector<ServerRow> services_;  // tool server, gateway
};

QString FormatUptime(qint64 seconds);
QString FormatBytes(qint64 bytes);

}  // namespace llmdesk::gui
