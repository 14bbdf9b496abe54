// apps/gui/logs_tab.h — the Logs tab: the live output of one backend (its tail, then every new line, over
// GET /api/backends/{name}/logs?follow=1), searchable (Find / Enter, wraps around) and copyable.
#pragma once

#include <QPointer>
#include <QWidget>

#include "control_api.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;

namespace llmdesk::gui {

class LogsTab : public QWidget {
 public:
  LogsTab(ControlApi& api, QWidget* parent = nullptr);
  void SetBackends(const QStringList& names);
  void Follow(const QString& name);
  bool FindNext();  // from the cursor, wrapping; false when the text is nowhere

 private:
  ControlApi& api_;
  QComboBox* backend_;
  QLineEdit* search_;
  QLabel* status_;
  QPlainTextEdit* text_;
  QPointer<SseStream> stream_;
};

}  // namespace llmdesk::gui
