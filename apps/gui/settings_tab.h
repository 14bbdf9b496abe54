// apps/gui/settings_tab.h — the Settings tab: llm_backends.yaml in an editor, checked by the core's config loader
// as you type (a short pause after the last key) with every error listed and marked at its line and column;
// Save writes the file (atomically, off the UI thread) when it has no errors; the window then asks the stack to
// apply it (StackLink::Reload) and shows the outcome here (ShowOutcome). A config without a file starts
// from the effective built-in defaults and is saved to $XDG_CONFIG_HOME/llmdesk/llm_backends.yaml.
#pragma once

#include <QWidget>
#include <functional>

#include "config/config.h"

class QLabel;
class QListWidget;
class QPlainTextEdit;
class QPushButton;
class QTimer;

namespace llmdesk::gui {

class SettingsTab : public QWidget {
 public:
  explicit SettingsTab(QWidget* parent = nullptr);
  // Loads `file` (off the UI thread); empty = start from `effective` (the built-in defaults).
  void Load(const QString& file, const config::Config& effective);
  void Validate();  // now, on the UI thread (small input, no I/O)
  void Save();

  QStringList problems() const;  // "line:col: message" of the last validation
  QString status_text() const;   // what the line above the editor says (saved, applied, refused)
  // What applying the saved file did: one line each ("added: x", "not applied, needs a restart ...").
  void ShowOutcome(const QStringList& lines, bool refused);
  std::function<void(const QString& file)> on_saved;

 private:
  void MarkErrors(const std::vector<config::Diagnostic>& diagnostics);
  void JumpTo(int line, int column);

  QString file_;
  QPlainTextEdit* editor_;
  QListWidget* problems_;
  QLabel* status_;
  QPushButton* save_;
  QTimer* debounce_;
  bool valid_ = true;
};

}  // namespace llmdesk::gui
