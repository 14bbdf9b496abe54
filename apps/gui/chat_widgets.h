// apps/gui/chat_widgets.h — the pieces of the Test Chat's message list: a message (Markdown, Qt's own renderer)
// and a card per tool call (server, tool, arguments, result or error, duration; the details fold away).
#pragma once

#include <QFrame>
#include <QString>

#include <nlohmann/json.hpp>

class QLabel;
class QToolButton;
class QWidget;

namespace llmdesk::gui {

class MessageView : public QFrame {
 public:
  enum class Role { kUser, kAssistant, kNote };
  MessageView(Role role, const QString& markdown, QWidget* parent = nullptr);
  void SetMarkdown(const QString& markdown);
  void Append(const QString& text);
  const QString& markdown() const { return markdown_; }
  Role role() const { return role_; }

 private:
  Role role_;
  QString markdown_;
  QLabel* body_;
};

class ToolCard : public QFrame {
 public:
  ToolCard(const QString& server, const QString& tool, const nlohmann::json& arguments, QWidget* parent = nullptr);
  void SetWaitingForApproval();
  void SetApprovalAnswer(const QString& answer);  // "once" | "always" | "deny"
  void SetResult(const QString& text, bool is_error, qint64 duration_ms);

  QString server() const { return server_; }
  QString tool() const { return tool_; }
  QString arguments() const { return arguments_; }
  QString result() const { return result_; }
  bool is_error() const { return is_error_; }
  bool finished() const { return finished_; }
  QString status_text() const;

 private:
  void ShowDetails(bool show);
  QString server_, tool_, arguments_, result_;
  bool is_error_ = false, finished_ = false;
  QLabel* status_;
  QLabel* result_label_;
  QToolButton* toggle_;
  QWidget* details_;
};

}  // namespace llmdesk::gui
