// apps/gui/settings_tab.cpp — see settings_tab.h.
#include "settings_tab.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSaveFile>
#include <QStandardPaths>
#include <QStyle>
#include <QTextBlock>
#include <QTimer>
#include <QVBoxLayout>

#include "background.h"

namespace llmdesk::gui {

namespace {

struct FileText {
  bool ok = false;
  QString text, error;
};

QString DefaultConfigFile() {
  const QString base = QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation);
  return QDir(base).filePath("llmdesk/llm_backends.yaml");
}

}  // namespace

SettingsTab::SettingsTab(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  status_ = new QLabel;
  status_->setObjectName("settingsStatus");
  status_->setWordWrap(true);
  layout->addWidget(status_);
  editor_ = new QPlainTextEdit;
  editor_->setObjectName("configEditor");
  editor_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  editor_->setLineWrapMode(QPlainTextEdit::NoWrap);
  editor_->setTabChangesFocus(false);
  layout->addWidget(editor_, 1);
  problems_ = new QListWidget;
  problems_->setObjectName("configProblems");
  problems_->setMaximumHeight(110);
  layout->addWidget(problems_);
  auto* buttons = new QHBoxLayout;
  auto* check = new QPushButton("Validate");
  save_ = new QPushButton("Save and apply");
  save_->setToolTip("Write the file, then have the running stack apply it (no restart)");
  save_->setObjectName("saveConfig");
  buttons->addStretch(1);
  buttons->addWidget(check);
  buttons->addWidget(save_);
  layout->addLayout(buttons);

  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(400);
  connect(debounce_, &QTimer::timeout, this, &SettingsTab::Validate);
  connect(editor_, &QPlainTextEdit::textChanged, debounce_, qOverload<>(&QTimer::start));
  connect(check, &QPushButton::clicked, this, &SettingsTab::Validate);
  connect(save_, &QPushButton::clicked, this, &SettingsTab::Save);
  connect(problems_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
    JumpTo(item->data(Qt::UserRole).toInt(), item->data(Qt::UserRole + 1).toInt());
  });
}

void SettingsTab::Load(const QString& file, const config::Config& effective) {
  if (file.isEmpty()) {
    file_ = DefaultConfigFile();
    editor_->setPlainText(QString::fromStdString("# the built-in defaults; Save writes them to " + file_.toStdString() +
                                                 "\n" + config::ToYaml(effective)));
    status_->setText("No configuration file yet: these are the built-in defaults.");
    return;
  }
  file_ = file;
  status_->setText("Loading " + file + "…");
  RunInBackground<FileText>(
      this,
      [file] {
        FileText t;
        QFile f(file);
        if (!f.open(QIODevice::ReadOnly)) return t.error = f.errorString(), t;
        t.text = QString::fromUtf8(f.readAll());
        t.ok = true;
        return t;
      },
      [this, file](FileText t) {
        if (!t.ok) return status_->setText("Cannot read " + file + ": " + t.error);
        editor_->setPlainText(t.text);
        status_->setText(file);
        Validate();
      });
}

QStringList SettingsTab::problems() const {
  QStringList out;
  for (int i = 0; i < problems_->count(); ++i) out << problems_->item(i)->text();
  return out;
}

QString SettingsTab::status_text() const { return status_->text(); }

void SettingsTab::ShowOutcome(const QStringList& lines, bool refused) {
  status_->setProperty("outcome", refused ? "refused" : "applied");
  status_->style()->unpolish(status_);
  status_->style()->polish(status_);
  status_->setText(lines.join("\n"));
}

void SettingsTab::Validate() {
  debounce_->stop();
  auto result = config::LoadString(editor_->toPlainText().toStdString(), file_.toStdString(), config::ProcessEnv());
  valid_ = result.ok();
  MarkErrors(result.diagnostics);
  save_->setEnabled(valid_);
}

void SettingsTab::MarkErrors(const std::vector<config::Diagnostic>& diagnostics) {
  problems_->clear();
  QList<QTextEdit::ExtraSelection> marks;
  for (const auto& d : diagnostics) {
    const bool error = d.severity == config::Diagnostic::Severity::kError;
    auto* item = new QListWidgetItem(QString("%1:%2: %3: %4%5")
                                         .arg(d.where.line)
                                         .arg(d.where.column)
                                         .arg(error ? "error" : "warning")
                                         .arg(d.key.empty() ? QString() : QString::fromStdString(d.key) + ": ")
                                         .arg(QString::fromStdString(d.message)));
    item->setForeground(error ? QColor("#b3261e") : QColor("#b26a00"));
    item->setData(Qt::UserRole, d.where.line);
    item->setData(Qt::UserRole + 1, d.where.column);
    problems_->addItem(item);
    if (d.where.line <= 0) continue;
    QTextEdit::ExtraSelection mark;
    mark.cursor = QTextCursor(editor_->document()->findBlockByNumber(d.where.line - 1));
    mark.format.setBackground(error ? QColor("#fde7e9") : QColor("#fff4e0"));
    mark.format.setProperty(QTextFormat::FullWidthSelection, true);
    marks << mark;
  }
  editor_->setExtraSelections(marks);
  problems_->setVisible(!diagnostics.empty());
}

void SettingsTab::JumpTo(int line, int column) {
  QTextBlock block = editor_->document()->findBlockByNumber(std::max(0, line - 1));
  QTextCursor c(block);
  c.movePosition(QTextCursor::Right, QTextCursor::MoveAnchor, std::max(0, column - 1));
  editor_->setTextCursor(c);
  editor_->setFocus();
}

void SettingsTab::Save() {
  Validate();
  if (!valid_) return status_->setText("Not saved: fix the errors first.");
  const QString file = file_;
  const QByteArray bytes = editor_->toPlainText().toUtf8();
  status_->setText("Saving " + file + "…");
  RunInBackground<QString>(
      this,
      [file, bytes] {
        QDir().mkpath(QFileInfo(file).absolutePath());
        QSaveFile f(file);
        if (!f.open(QIODevice::WriteOnly)) return f.errorString();
        f.write(bytes);
        return f.commit() ? QString() : f.errorString();
      },
      [this, file](QString error) {
        if (!error.isEmpty()) return status_->setText("Cannot save " + file + ": " + error);
        status_->setProperty("outcome", QVariant());
        status_->setText("Saved " + file + "; applying it…");
        if (on_saved) on_saved(file);
      });
}

}  // namespace llmdesk::gui
