// apps/gui/tools_tab.h — the Tools tab: every tool of every MCP server the stack knows (GET /api/tools), grouped by
// server, with its description and input schema; "Try it": a form generated from the schema's properties (text,
// numbers, booleans, JSON for objects and arrays), run through POST /api/tools/call, the result shown.
#pragma once

#include <QWidget>
#include <vector>

#include "control_api.h"

class QFormLayout;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTreeWidget;

namespace llmdesk::gui {

class ToolsTab : public QWidget {
 public:
  ToolsTab(ControlApi& api, QWidget* parent = nullptr);
  void Refresh();
  bool Select(const QString& tool);  // by the name the model sees
  void Run();                        // the form's values -> POST /api/tools/call
  QString result_text() const;
  // The form's values as the tool's arguments; an error names the field that does not parse.
  Result<Json> Arguments() const;

 private:
  void Show(int index);

  struct Field {
    std::string name, type;
    QWidget* editor;
  };
  ControlApi& api_;
  Json tools_ = Json::array();
  int current_ = -1;
  QTreeWidget* tree_;
  QLabel* title_;
  QLabel* description_;
  QPlainTextEdit* schema_;
  QWidget* form_host_;
  QFormLayout* form_;
  std::vector<Field> fields_;
  QPushButton* run_;
  QPlainTextEdit* result_;
};

}  // namespace llmdesk::gui
