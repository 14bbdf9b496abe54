// apps/gui/chat_widgets.cpp — see chat_widgets.h.
#include "chat_widgets.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>

namespace llmdesk::gui {

MessageView::MessageView(Role role, const QString& markdown, QWidget* parent) : QFrame(parent), role_(role) {
  setObjectName(role == Role::kUser ? "userMessage" : role == Role::kAssistant ? "assistantMessage" : "noteMessage");
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(12, 8, 12, 8);
  layout->setSpacing(2);
  auto* who = new QLabel(role == Role::kUser ? "You" : role == Role::kAssistant ? "Assistant" : "Note");
  who->setObjectName("messageRole");
  body_ = new QLabel;
  body_->setObjectName("messageBody");
  body_->setTextFormat(Qt::MarkdownText);
  body_->setWordWrap(true);
  body_->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::LinksAccessibleByMouse);
  body_->setOpenExternalLinks(true);
  layout->addWidget(who);
  layout->addWidget(body_);
  SetMarkdown(markdown);
}

void MessageView::SetMarkdown(const QString& markdown) {
  markdown_ = markdown;
  body_->setText(markdown_);
}

void MessageView::Append(const QString& text) { SetMarkdown(markdown_ + text); }

ToolCard::ToolCard(const QString& server, const QString& tool, const nlohmann::json& arguments, QWidget* parent)
    : QFrame(parent),
      server_(server),
      tool_(tool),
      arguments_(QString::fromStdString(arguments.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))) {
  setObjectName("toolCard");
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(10, 6, 10, 6);
  layout->setSpacing(4);

  auto* head = new QHBoxLayout;
  toggle_ = new QToolButton;
  toggle_->setObjectName("toolCardToggle");
  toggle_->setAutoRaise(true);
  toggle_->setCheckable(true);
  toggle_->setChecked(true);
  toggle_->setArrowType(Qt::DownArrow);
  auto* title = new QLabel(QString("<b>%1</b> <span style='color:#667'>on %2</span>")
                               .arg(tool.toHtmlEscaped(), server.isEmpty() ? QString("MCP") : server.toHtmlEscaped()));
  status_ = new QLabel("running…");
  status_->setObjectName("toolCardStatus");
  head->addWidget(toggle_);
  head->addWidget(title);
  head->addStretch(1);
  head->addWidget(status_);
  layout->addLayout(head);

  details_ = new QWidget;
  auto* d = new QVBoxLayout(details_);
  d->setContentsMargins(24, 0, 0, 0);
  auto* args = new QLabel("Arguments: <code>" + arguments_.toHtmlEscaped() + "</code>");
  args->setObjectName("toolCardArguments");
  args->setTextInteractionFlags(Qt::TextSelectableByMouse);
  args->setWordWrap(true);
  result_label_ = new QLabel;
  result_label_->setObjectName("toolCardResult");
  result_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  result_label_->setWordWrap(true);
  result_label_->hide();
  d->addWidget(args);
  d->addWidget(result_label_);
  layout->addWidget(details_);
  connect(toggle_, &QToolButton::toggled, this, [this](bool on) { ShowDetails(on); });
}

void ToolCard::ShowDetails(bool show) {
  details_->setVisible(show);
  toggle_->setArrowType(show ? Qt::DownArrow : Qt::RightArrow);
}

QString ToolCard::status_text() const { return status_->text(); }

void ToolCard::SetWaitingForApproval() { status_->setText("waiting for your approval"); }

void ToolCard::SetApprovalAnswer(const QString& answer) {
  status_->setText(answer == "deny" ? "denied by you" : answer == "always" ? "allowed (always)" : "allowed once");
}

void ToolCard::SetResult(const QString& text, bool is_error, qint64 duration_ms) {
  result_ = text;
  is_error_ = is_error;
  finished_ = true;
  const bool denied = status_->text() == "denied by you";
  status_->setText(QString("%1 · %2 ms").arg(denied ? "denied" : is_error ? "error" : "done").arg(duration_ms));
  status_->setProperty("state", is_error ? "error" : "ok");
  result_label_->setText(QString("%1 <code>%2</code>")
                             .arg(is_error ? "<span style='color:#b3261e'>Error:</span>" : "Result:",
                                  text.toHtmlEscaped()));
  result_label_->show();
  setProperty("state", is_error ? "error" : "ok");
  style()->unpolish(this);
  style()->polish(this);
}

}  // namespace llmdesk::gui
