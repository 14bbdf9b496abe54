// apps/gui/chat_tab.cpp — see chat_tab.h.
#include "chat_tab.h"

#include <QCheckBox>
#include <tuple>
#include <QComboBox>
#include <QDateTime>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSplitter>
#include <QTimer>
#include <QVBoxLayout>

#include "chat_widgets.h"
#include "json_fields.h"
#include "control/control.h"

namespace llmdesk::gui {

namespace {

QString Q(const std::string& s) { return QString::fromStdString(s); }
// "starting default on port 10500" -> "Starting default on port 10500…"
QString Sentence(const std::string& line, bool ongoing) {
  QString s = Q(line);
  if (!s.isEmpty()) s[0] = s[0].toUpper();
  return ongoing ? s + "…" : s;
}

}  // namespace

ChatTab::ChatTab(ControlApi& api, QWidget* parent) : QWidget(parent), api_(api) {
  auto* outer = new QHBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  auto* split = new QSplitter;
  outer->addWidget(split);

  // Left: the conversations of the history.
  auto* side = new QWidget;
  auto* side_layout = new QVBoxLayout(side);
  side_layout->setContentsMargins(8, 8, 0, 8);
  auto* new_chat = new QPushButton("New chat");
  new_chat->setObjectName("newChat");
  conversations_ = new QListWidget;
  conversations_->setObjectName("conversations");
  side_layout->addWidget(new_chat);
  side_layout->addWidget(new QLabel("<b>History</b>"));
  side_layout->addWidget(conversations_, 1);
  split->addWidget(side);

  // Right: the chat.
  auto* main = new QWidget;
  auto* layout = new QVBoxLayout(main);
  layout->setContentsMargins(8, 8, 8, 8);
  auto* top = new QHBoxLayout;
  model_ = new QComboBox;
  model_->setObjectName("modelPicker");
  model_->setMinimumWidth(180);
  tools_ = new QCheckBox("Enable Tool Use");
  tools_->setObjectName("enableToolUse");
  top->addWidget(new QLabel("Model:"));
  top->addWidget(model_);
  top->addSpacing(16);
  top->addWidget(tools_);
  top->addStretch(1);
  layout->addLayout(top);

  scroll_ = new QScrollArea;
  scroll_->setObjectName("messageList");
  scroll_->setWidgetResizable(true);
  list_ = new QWidget;
  list_->setObjectName("messageListBody");
  list_layout_ = new QVBoxLayout(list_);
  list_layout_->setSpacing(8);
  list_layout_->addStretch(1);
  scroll_->setWidget(list_);
  layout->addWidget(scroll_, 1);

  auto* status = new QHBoxLayout;
  progress_ = new QLabel;
  progress_->setObjectName("progressLine");
  busy_ = new QProgressBar;
  busy_->setRange(0, 0);
  busy_->setMaximumWidth(120);
  busy_->setMaximumHeight(12);
  busy_->setTextVisible(false);
  busy_->hide();
  status->addWidget(progress_, 1);
  status->addWidget(busy_);
  layout->addLayout(status);

  approval_ = new QFrame;
  approval_->setObjectName("approvalBar");
  auto* ab = new QHBoxLayout(approval_);
  approval_text_ = new QLabel;
  approval_text_->setWordWrap(true);
  ab->addWidget(approval_text_, 1);
  for (auto [label, answer, name] : {std::tuple{"Allow once", "once", "approveOnce"},
                                     std::tuple{"Allow always", "always", "approveAlways"},
                                     std::tuple{"Deny", "deny", "approveDeny"}}) {
    auto* b = new QPushButton(label);
    b->setObjectName(name);
    connect(b, &QPushButton::clicked, this, [this, a = QString(answer)] { Answer(a); });
    ab->addWidget(b);
  }
  approval_->hide();
  layout->addWidget(approval_);

  auto* bottom = new QHBoxLayout;
  input_ = new QPlainTextEdit;
  input_->setObjectName("chatInput");
  input_->setPlaceholderText("Ask something… (Ctrl+Enter to send, Esc to stop)");
  input_->setMaximumHeight(80);
  send_ = new QPushButton("Send");
  send_->setObjectName("send");
  send_->setDefault(true);
  stop_ = new QPushButton("Stop");
  stop_->setObjectName("stop");
  stop_->setEnabled(false);
  auto* buttons = new QVBoxLayout;
  buttons->addWidget(send_);
  buttons->addWidget(stop_);
  bottom->addWidget(input_, 1);
  bottom->addLayout(buttons);
  layout->addLayout(bottom);
  split->addWidget(main);
  split->setStretchFactor(1, 1);
  split->setSizes({200, 700});

  connect(send_, &QPushButton::clicked, this, &ChatTab::Send);
  connect(stop_, &QPushButton::clicked, this, &ChatTab::Stop);
  connect(new_chat, &QPushButton::clicked, this, &ChatTab::NewConversation);
  connect(conversations_, &QListWidget::itemActivated, this,
          [this](QListWidgetItem* item) { OpenConversation(item->data(Qt::UserRole).toLongLong()); });
  connect(conversations_, &QListWidget::itemClicked, this,
          [this](QListWidgetItem* item) { OpenConversation(item->data(Qt::UserRole).toLongLong()); });
}

void ChatTab::SetModels(const QStringList& names) {
  const QString keep = model_->currentText();
  model_->clear();
  model_->addItems(names);
  if (int i = model_->findText(keep); i >= 0) model_->setCurrentIndex(i);
}

// dynamic_cast, not findChildren<T>: these classes have no Q_OBJECT, so Qt's cast would match any QFrame.
QList<ToolCard*> ChatTab::tool_cards() const {
  QList<ToolCard*> out;
  for (QObject* child : list_->children())
    if (auto* card = dynamic_cast<ToolCard*>(child)) out << card;
  return out;
}
QList<MessageView*> ChatTab::messages() const {
  QList<MessageView*> out;
  for (QObject* child : list_->children())
    if (auto* message = dynamic_cast<MessageView*>(child)) out << message;
  return out;
}

void ChatTab::AddWidget(QWidget* w) {
  list_layout_->insertWidget(list_layout_->count() - 1, w);  // before the stretch
  ScrollToEnd();
}

void ChatTab::ScrollToEnd() {
  QTimer::singleShot(0, this, [this] { scroll_->verticalScrollBar()->setValue(scroll_->verticalScrollBar()->maximum()); });
}

MessageView* ChatTab::Assistant() {
  if (!current_) {
    current_ = new MessageView(MessageView::Role::kAssistant, "");
    AddWidget(current_);
  }
  return current_;
}

void ChatTab::SetProgress(const QString& line, bool ongoing) {
  progress_->setText(line);
  busy_->setVisible(ongoing);
  if (!line.isEmpty()) progress_history_ << line;
}

void ChatTab::Send() {
  const QString text = input_->toPlainText().trimmed();
  if (text.isEmpty() || busy()) return;
  input_->clear();
  AddWidget(new MessageView(MessageView::Role::kUser, text));
  current_ = nullptr;
  cards_.clear();
  run_.clear();
  Json body = {{"prompt", text.toStdString()}, {"tools", tools_->isChecked()}};
  if (!model_->currentText().isEmpty()) body["model"] = model_->currentText().toStdString();
  if (conversation_) body["conversation"] = *conversation_;
  send_->setEnabled(false);
  stop_->setEnabled(true);
  SetProgress("Sending…", true);
  stream_ = api_.Stream(
      "/api/chat", &body, [this](const std::string& e, const Json& d) { OnEvent(e, d); },
      [this](Status s) { OnEnd(std::move(s)); }, this);
}

void ChatTab::Stop() {
  if (!busy()) return;
  if (!run_.empty()) api_.Post(QString("/api/chat/%1/cancel").arg(Q(run_)), Json::object(), nullptr);
  else if (stream_) stream_->Abort(), OnEnd(Status::Cancelled("stopped"));
  SetProgress("Stopping…", true);
}

void ChatTab::Answer(const QString& answer) {
  approval_->hide();
  if (auto* card = cards_.value(pending_call_)) card->SetApprovalAnswer(answer);
  api_.Post(QString("/api/chat/%1/approve").arg(Q(run_)),
            {{"call_id", pending_call_.toStdString()}, {"answer", answer.toStdString()}}, [this](Result<Json> r) {
              if (!r.ok()) SetProgress("Approval not delivered: " + Q(r.status().message()), false);
            });
  pending_call_.clear();
}

void ChatTab::OnEvent(const std::string& event, const Json& data) {
  if (!data.is_object()) return;
  const std::string kind = JsonString(data, "kind").empty() ? event : JsonString(data, "kind");
  if (event == "run") run_ = JsonString(data, "run");
  if (kind == "conversation") conversation_ = JInt(data, "conversation");
  if (kind == "request_sent") SetProgress(QString("Asking %1…").arg(model_->currentText()), true);
  if (kind == "token") Assistant()->Append(Q(JsonString(data, "text")));
  if (kind == "final") {
    const QString text = Q(JsonString(data, "text"));
    if (!current_ || current_->markdown().trimmed().isEmpty()) Assistant()->SetMarkdown(text);
    else if (current_->markdown() != text) current_->SetMarkdown(text);
  }
  if (kind == "tool_call") {
    auto* card = new ToolCard(Q(JsonString(data, "server")), Q(JsonString(data, "tool")), data.value("arguments", Json::object()));
    cards_.insert(Q(JsonString(data, "call_id")), card);
    if (current_ && current_->markdown().trimmed().isEmpty()) delete current_;
    current_ = nullptr;  // text after the tool goes below its card
    AddWidget(card);
  }
  if (kind == "approval_needed") {
    pending_call_ = Q(JsonString(data, "call_id"));
    if (auto* card = cards_.value(pending_call_)) card->SetWaitingForApproval();
    approval_text_->setText(QString("<b>%1</b> wants to run with <code>%2</code>. Allow it?")
                                .arg(Q(JsonString(data, "tool")).toHtmlEscaped(),
                                     Q(data.value("arguments", Json::object()).dump(-1, ' ', false, Json::error_handler_t::replace)).toHtmlEscaped()));
    approval_->show();
  }
  if (kind == "tool_result") {
    if (auto* card = cards_.value(Q(JsonString(data, "call_id"))))
      card->SetResult(Q(JsonString(data, "text")), JBool(data, "is_error"), JInt(data, "duration_ms"));
  }
  // A turn the person stopped ends with `cancelled` and then `failed` {code: cancelled}: not an error to show; what
  // was answered so far stays (the history keeps it as an incomplete message too).
  const bool stopped = kind == "cancelled" || (event == "failed" && JsonString(data, "code") == "cancelled");
  if ((kind == "error" || event == "failed") && !stopped) {
    const std::string text = event == "failed" ? JsonString(data, "message") : JsonString(data, "text");
    AddWidget(new MessageView(MessageView::Role::kNote, "**Error:** " + Q(text)));
  }
  if (stopped) return SetProgress("Stopped", false);
  const std::string line = control::ChatEventLine(event, data);
  if (!line.empty()) SetProgress(Sentence(line, control::ChatEventIsOngoing(event, data)), control::ChatEventIsOngoing(event, data));
  if (event == "done") SetProgress(QString("Done in %1 step(s)").arg(JInt(data, "steps")), false);
}

void ChatTab::OnEnd(Status status) {
  if (stream_) stream_->deleteLater();
  stream_ = nullptr;
  approval_->hide();
  send_->setEnabled(true);
  stop_->setEnabled(false);
  busy_->hide();
  if (!status.ok() && status.code() != Status::Code::kCancelled) {
    AddWidget(new MessageView(MessageView::Role::kNote, "**The chat failed:** " + Q(status.message())));
    SetProgress("Failed: " + Q(status.message()), false);
  }
  RefreshHistory();
}

void ChatTab::RefreshHistory() {
  api_.Get("/api/history", [this](Result<Json> list) {
    if (!list.ok() || !list->is_array()) return;
    conversations_->clear();
    for (const auto& c : *list) {
      if (!c.is_object()) continue;
      QString title = Q(JsonString(c, "title"));
      auto* item = new QListWidgetItem(title.isEmpty() ? QString("(untitled)") : title);
      item->setToolTip(QString("%1 · %2 messages · %3")
                           .arg(Q(JsonString(c, "model")))
                           .arg(JInt(c, "message_count"))
                           .arg(QDateTime::fromMSecsSinceEpoch(JInt(c, "updated_ms")).toString("yyyy-MM-dd hh:mm")));
      item->setData(Qt::UserRole, JInt(c, "id"));
      conversations_->addItem(item);
    }
  });
}

void ChatTab::NewConversation() {
  if (busy()) return;
  conversation_.reset();
  current_ = nullptr;
  for (auto* w : tool_cards()) delete w;
  for (auto* w : messages()) delete w;
  SetProgress("", false);
}

void ChatTab::OpenConversation(qint64 id) {
  if (busy()) return;
  api_.Get(QString("/api/history/%1").arg(id), [this, id](Result<Json> c) {
    if (!c.ok() || !c->is_object()) return;
    NewConversation();
    conversation_ = id;
    const Json messages = c->value("messages", Json::array());
    QHash<QString, ToolCard*> cards;
    for (const auto& m : messages) {
      if (!m.is_object()) continue;
      const std::string role = JsonString(m, "role");
      const QString content = Q(JsonString(m, "content"));
      if (role == "user") AddWidget(new MessageView(MessageView::Role::kUser, content));
      if (role == "assistant" && !content.trimmed().isEmpty())
        AddWidget(new MessageView(MessageView::Role::kAssistant, content));
      if (role != "assistant" || !m.contains("tool_calls") || !m["tool_calls"].is_array()) continue;
      for (const auto& t : m["tool_calls"]) {
        if (!t.is_object()) continue;
        Json args = t.value("arguments", Json::object());
        if (args.is_string()) args = Json::parse(args.get<std::string>(), nullptr, false);
        auto* card = new ToolCard(Q(JsonString(t, "server")), Q(JsonString(t, "tool")), args.is_discarded() ? Json::object() : args);
        if (t.contains("result") && t["result"].is_string())
          card->SetResult(Q(t["result"].get<std::string>()), JBool(t, "is_error"), JInt(t, "duration_ms"));
        AddWidget(card);
      }
    }
    SetProgress(QString("Conversation %1 from the history").arg(id), false);
  });
}

}  // namespace llmdesk::gui
