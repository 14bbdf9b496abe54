// apps/gui/chat_tab.h — the Test Chat tab: model picker, "Enable Tool Use", the message list (Markdown), tokens as
// they stream, a card per tool call, the progress line, Stop, the approval prompt for `ask` tools, and the
// conversation list from the history. One turn at a time, over POST /api/chat (SSE); it renders the events and
// holds no chat logic.
#pragma once

#include <QHash>
#include <QPointer>
#include <QStringList>
#include <QWidget>
#include <optional>

#include "control_api.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QScrollArea;
class QVBoxLayout;
class QFrame;

namespace llmdesk::gui {

class MessageView;
class ToolCard;

class ChatTab : public QWidget {
 public:
  ChatTab(ControlApi& api, QWidget* parent = nullptr);

  void SetModels(const QStringList& names);  // the configured models, first = default
  void RefreshHistory();                     // GET /api/history into the conversation list

  void Send();  // the input's text as the next message (Ctrl+Return)
  void Stop();  // cancels the running turn (Esc)
  bool busy() const { return stream_ != nullptr; }

  // For tests and the screenshots: what a person would read.
  QStringList progress_history() const { return progress_history_; }
  QList<ToolCard*> tool_cards() const;
  QList<MessageView*> messages() const;

 private:
  void OnEvent(const std::string& event, const Json& data);
  void OnEnd(Status status);
  void SetProgress(const QString& line, bool ongoing);
  void Answer(const QString& answer);  // the approval bar's buttons
  void AddWidget(QWidget* w);
  void NewConversation();
  void OpenConversation(qint64 id);
  void ScrollToEnd();
  MessageView* Assistant();

  ControlApi& api_;
  QComboBox* model_;
  QCheckBox* tools_;
  QListWidget* conversations_;
  QScrollArea* scroll_;
  QWidget* list_;
  QVBoxLayout* list_layout_;
  QLabel* progress_;
  QProgressBar* busy_;
  QFrame* approval_;
  QLabel* approval_text_;
  QPlainTextEdit* input_;
  QPushButton* send_;
  QPushButton* stop_;

  QPointer<SseStream> stream_;
  std::string run_;
  std::optional<qint64> conversation_;
  MessageView* current_ = nullptr;  // the assistant message tokens go to
  QHash<QString, ToolCard*> cards_;  // by call id
  QString pending_call_;             // the call the approval bar asks about
  QStringList progress_history_;
};

}  // namespace llmdesk::gui
