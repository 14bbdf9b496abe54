// apps/gui/tools_tab.cpp — see tools_tab.h.
#include "tools_tab.h"

#include <QCheckBox>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "json_fields.h"

namespace llmdesk::gui {

namespace {
QString Pretty(const Json& j) { return QString::fromStdString(j.dump(2, ' ', false, Json::error_handler_t::replace)); }
}  // namespace

ToolsTab::ToolsTab(ControlApi& api, QWidget* parent) : QWidget(parent), api_(api) {
  auto* outer = new QHBoxLayout(this);
  auto* split = new QSplitter;
  outer->addWidget(split);
  tree_ = new QTreeWidget;
  tree_->setObjectName("toolList");
  tree_->setHeaderLabels({"Tool", "Approval"});
  tree_->header()->setStretchLastSection(false);
  tree_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
  split->addWidget(tree_);

  auto* right = new QWidget;
  auto* layout = new QVBoxLayout(right);
  title_ = new QLabel("Select a tool");
  title_->setObjectName("toolTitle");
  description_ = new QLabel;
  description_->setWordWrap(true);
  layout->addWidget(title_);
  layout->addWidget(description_);
  layout->addWidget(new QLabel("<b>Input schema</b>"));
  schema_ = new QPlainTextEdit;
  schema_->setObjectName("toolSchema");
  schema_->setReadOnly(true);
  schema_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  schema_->setMaximumHeight(160);
  layout->addWidget(schema_);
  layout->addWidget(new QLabel("<b>Try it</b>"));
  form_host_ = new QWidget;
  form_ = new QFormLayout(form_host_);
  layout->addWidget(form_host_);
  run_ = new QPushButton("Run");
  run_->setObjectName("runTool");
  run_->setEnabled(false);
  auto* row = new QHBoxLayout;
  row->addStretch(1);
  row->addWidget(run_);
  layout->addLayout(row);
  result_ = new QPlainTextEdit;
  result_->setObjectName("toolResult");
  result_->setReadOnly(true);
  result_->setPlaceholderText("Fill in the arguments and press Run: the tool's result appears here.");
  result_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  layout->addWidget(result_, 1);
  split->addWidget(right);
  split->setSizes({260, 640});

  connect(tree_, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem* item) {
    if (item && item->data(0, Qt::UserRole).isValid()) Show(item->data(0, Qt::UserRole).toInt());
  });
  connect(run_, &QPushButton::clicked, this, &ToolsTab::Run);
}

void ToolsTab::Refresh() {
  api_.Get("/api/tools", [this](Result<Json> list) {
    if (!list.ok()) return title_->setText("Cannot list the tools: " + QString::fromStdString(list.status().message()));
    tools_ = list->is_array() ? *list : Json::array();
    tree_->clear();
    QHash<QString, QTreeWidgetItem*> servers;
    for (int i = 0; i < static_cast<int>(tools_.size()); ++i) {
      const Json& t = tools_[static_cast<size_t>(i)];
      const QString server = JStr(t, "server").isEmpty() ? QString("(unknown server)") : JStr(t, "server");
      auto*& parent = servers[server];
      if (!parent) {
        parent = new QTreeWidgetItem(tree_, {server});
        parent->setExpanded(true);
        QFont f = parent->font(0);
        f.setBold(true);
        parent->setFont(0, f);
      }
      auto* item = new QTreeWidgetItem(parent, {JStr(t, "name"), JStr(t, "approval")});
      item->setToolTip(0, JStr(t, "description"));
      item->setData(0, Qt::UserRole, i);
    }
    tree_->expandAll();
  });
}

bool ToolsTab::Select(const QString& tool) {
  for (QTreeWidgetItemIterator it(tree_); *it; ++it)
    if ((*it)->data(0, Qt::UserRole).isValid() && (*it)->text(0) == tool) {
      tree_->setCurrentItem(*it);
      return true;
    }
  return false;
}

void ToolsTab::Show(int index) {
  if (index < 0 || index >= static_cast<int>(tools_.size())) return;
  current_ = index;
  const Json& t = tools_[static_cast<size_t>(index)];
  title_->setText(QString("<b style='font-size:15px'>%1</b> on %2").arg(JStr(t, "name").toHtmlEscaped(), JStr(t, "server").toHtmlEscaped()));
  description_->setText(JStr(t, "description"));
  const Json schema = t.contains("input_schema") ? t["input_schema"] : Json::object();
  schema_->setPlainText(Pretty(schema));
  while (form_->rowCount() > 0) form_->removeRow(0);
  fields_.clear();
  std::vector<std::string> required;
  if (schema.is_object() && schema.contains("required") && schema["required"].is_array())
    for (const auto& r : schema["required"])
      if (r.is_string()) required.push_back(r.get<std::string>());
  if (schema.is_object() && schema.contains("properties") && schema["properties"].is_object()) {
    for (const auto& [name, prop] : schema["properties"].items()) {
      const std::string type = prop.is_object() && prop.contains("type") && prop["type"].is_string() ? prop["type"].get<std::string>() : "string";
      QWidget* editor;
      if (type == "boolean") {
        editor = new QCheckBox;
      } else {
        auto* line = new QLineEdit;
        line->setPlaceholderText(JStr(prop, "description"));
        if (prop.is_object() && prop.contains("enum") && prop["enum"].is_array())
          line->setPlaceholderText("one of " + QString::fromStdString(prop["enum"].dump(-1, ' ', false, Json::error_handler_t::replace)));
        editor = line;
      }
      editor->setObjectName(QString::fromStdString("arg_" + name));
      const bool req = std::find(required.begin(), required.end(), name) != required.end();
      form_->addRow(QString::fromStdString(name + (req ? " *" : "") + "  (" + type + ")"), editor);
      fields_.push_back({name, type, editor});
    }
  }
  run_->setEnabled(true);
  result_->clear();
}

Result<Json> ToolsTab::Arguments() const {
  Json args = Json::object();
  for (const auto& f : fields_) {
    if (auto* box = qobject_cast<QCheckBox*>(f.editor)) {
      args[f.name] = box->isChecked();
      continue;
    }
    const QString text = static_cast<QLineEdit*>(f.editor)->text().trimmed();
    if (text.isEmpty()) continue;
    if (f.type == "string") {
      args[f.name] = text.toStdString();
      continue;
    }
    Json value = Json::parse(text.toStdString(), nullptr, false);
    const bool fits = !value.is_discarded() &&
                      ((f.type == "number" && value.is_number()) || (f.type == "integer" && value.is_number_integer()) ||
                       (f.type == "object" && value.is_object()) || (f.type == "array" && value.is_array()) ||
                       (f.type != "number" && f.type != "integer" && f.type != "object" && f.type != "array"));
    if (!fits) return Status::InvalidArgument(f.name + ": expected " + (f.type == "object" || f.type == "array" ? "JSON " : "a ") + f.type);
    args[f.name] = value;
  }
  return args;
}

void ToolsTab::Run() {
  if (current_ < 0) return;
  auto args = Arguments();
  if (!args.ok()) return result_->setPlainText(QString::fromStdString(args.status().message()));
  const std::string name = JStr(tools_[static_cast<size_t>(current_)], "name").toStdString();
  result_->setPlainText("Running…");
  run_->setEnabled(false);
  api_.Post("/api/tools/call", {{"name", name}, {"arguments", *args}}, [this](Result<Json> r) {
    run_->setEnabled(true);
    if (!r.ok()) return result_->setPlainText("The call failed: " + QString::fromStdString(r.status().message()));
    result_->setPlainText(QString("%1 (%2 ms)\n\n%3\n\nMCP result:\n%4")
                              .arg(JBool(*r, "is_error") ? "Error" : "Result")
                              .arg(JInt(*r, "duration_ms"))
                              .arg(JStr(*r, "text"))
                              .arg(Pretty(r->contains("result") ? (*r)["result"] : Json())));
  });
}

QString ToolsTab::result_text() const { return result_->toPlainText(); }

}  // namespace llmdesk::gui
