// The desktop app's acceptance scenario, driven as a person would: the app starts `llmdesk serve` itself; pick the
// model, tick Enable Tool Use, type "What's 2+2?", press Send. The generated model asks the real tool server's
// calculator through the real llama-server and answers with its result. Then: the tool card, the answer, the
// progress line (the server start on its port), screenshots of every tab, and no process left after closing.
// Also the approval prompt (`ask`): Deny → the card says so and the model reads the refusal.
#include <signal.h>

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTest>

#include "chat_tab.h"
#include "chat_widgets.h"
#include "control/control.h"
#include "gui_fixture.h"
#include "settings_tab.h"
#include "tools_tab.h"

namespace llmdesk::test {
namespace {

using namespace std::chrono_literals;

bool ProcessGone(pid_t pid) { return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH; }

class GuiChat : public GuiTest {
 protected:
  // As a person: pick the model, tick Enable Tool Use, type, press Send; waits for the turn to end.
  void AskAsAUser(gui::MainWindow& w, const QString& question) {
    auto* picker = w.findChild<QComboBox*>("modelPicker");
    auto* tools = w.findChild<QCheckBox*>("enableToolUse");
    auto* input = w.findChild<QPlainTextEdit*>("chatInput");
    auto* send = w.findChild<QPushButton*>("send");
    ASSERT_TRUE(picker && tools && input && send);
    ASSERT_TRUE(WaitFor([&] { return picker->findText("default") >= 0; }, 10s));
    picker->setCurrentIndex(picker->findText("default"));
    if (!tools->isChecked()) QTest::mouseClick(tools, Qt::LeftButton, {}, QPoint(8, tools->height() / 2));
    ASSERT_TRUE(tools->isChecked());
    QTest::keyClicks(input, question);
    QTest::mouseClick(send, Qt::LeftButton);
    ASSERT_TRUE(w.chat()->busy()) << "Send did not start a turn";
  }
  gui::ToolCard* OnlyCard(gui::MainWindow& w) {
    auto cards = w.chat()->tool_cards();
    EXPECT_EQ(cards.size(), 1) << "tool cards";
    return cards.isEmpty() ? nullptr : cards.front();
  }
  QString LastAssistantText(gui::MainWindow& w) {
    QString text;
    for (auto* m : w.chat()->messages())
      if (m->role() == gui::MessageView::Role::kAssistant) text = m->markdown();
    return text;
  }
};

TEST_F(GuiChat, WhatIsTwoPlusTwoWithToolUseThroughTheRealEngine) {
  WriteConfig(LocalModel(model_port_));
  auto& w = OpenWindow();
  ASSERT_TRUE(WaitFor([&] { return w.link().ready(); }, 60s)) << "the app did not reach its llmdesk serve";
  EXPECT_TRUE(w.link().started_serve()) << "no stack was running: the app must start its own";
  const pid_t serve_pid = static_cast<pid_t>(w.link().serve_pid());
  ASSERT_GT(serve_pid, 0);

  AskAsAUser(w, "What's 2+2?");
  ASSERT_TRUE(WaitFor([&] { return !w.chat()->busy(); }, 240s)) << w.chat()->progress_history().join("\n").toStdString();
  const std::string progress = w.chat()->progress_history().join("\n").toStdString();

  gui::ToolCard* card = OnlyCard(w);
  ASSERT_NE(card, nullptr) << progress;
  EXPECT_EQ(card->tool(), "calculator");
  EXPECT_TRUE(card->arguments().contains("2+2")) << card->arguments().toStdString();
  EXPECT_EQ(card->result(), "4");
  EXPECT_FALSE(card->is_error());
  EXPECT_TRUE(LastAssistantText(w).contains("4")) << LastAssistantText(w).toStdString();
  EXPECT_NE(progress.find("Starting default on port " + std::to_string(model_port_)), std::string::npos) << progress;
  EXPECT_NE(progress.find("Calling calculator"), std::string::npos) << progress;

  // The engine's PID, to check it is gone after closing.
  control::ControlClient client("127.0.0.1", gateway_);
  auto backend = client.Backend("default");
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  const pid_t engine_pid = static_cast<pid_t>(backend->value("pid", 0));
  ASSERT_GT(engine_pid, 0);

  // Every tab rendered: non-blank screenshots under the build's test output.
  auto* history = w.findChild<QListWidget*>("conversations");
  auto* log = w.findChild<QPlainTextEdit*>("logText");
  auto* editor = w.findChild<QPlainTextEdit*>("configEditor");
  EXPECT_TRUE(WaitFor([&] { return history->count() >= 1; }, 10s)) << "the conversation is not in the history list";
  EXPECT_TRUE(WaitFor([&] { return !log->toPlainText().isEmpty(); }, 10s)) << "the Logs tab shows nothing";
  EXPECT_TRUE(WaitFor([&] { return editor->toPlainText().contains("calculator"); }, 10s)) << "no config in Settings";
  EXPECT_TRUE(WaitFor([&] { return w.tools()->Select("calculator"); }, 10s)) << "the Tools tab lists no calculator";
  for (auto [tab, name] : {std::pair{0, "chat"}, std::pair{1, "servers"}, std::pair{2, "tools"}, std::pair{3, "logs"},
                         std::pair{4, "settings"}}) {
    QImage shot = Screenshot(tab, name);
    EXPECT_GT(DistinctColours(shot), 20) << name << " looks blank";
  }

  CloseWindow();
  EXPECT_TRUE(ProcessGone(serve_pid)) << "llmdesk serve " << serve_pid << " still runs";
  EXPECT_TRUE(ProcessGone(engine_pid)) << "llama-server " << engine_pid << " still runs";
}

TEST_F(GuiChat, DeniedApprovalIsShownOnTheCardAndReachesTheModel) {
  // calculator is read-only (auto by default): the per-tool setting makes it ask.
  WriteConfig(LocalModel(model_port_), "chat: {tools: {calculator: ask}}\n");
  auto& w = OpenWindow();
  ASSERT_TRUE(WaitFor([&] { return w.link().ready(); }, 60s));
  AskAsAUser(w, "What's 2+2?");
  auto* deny = w.findChild<QPushButton*>("approveDeny");
  ASSERT_TRUE(WaitFor([&] { return deny->isVisible() || !w.chat()->busy(); }, 240s));
  ASSERT_TRUE(deny->isVisible()) << w.chat()->progress_history().join("\n").toStdString();
  QTest::mouseClick(deny, Qt::LeftButton);
  ASSERT_TRUE(WaitFor([&] { return !w.chat()->busy(); }, 120s));
  gui::ToolCard* card = OnlyCard(w);
  ASSERT_NE(card, nullptr);
  EXPECT_TRUE(card->is_error());
  EXPECT_TRUE(card->status_text().startsWith("denied")) << card->status_text().toStdString();
  EXPECT_TRUE(card->result().contains("denied")) << card->result().toStdString();
  // What the model read for that call (its `tool` message, saved in the history) is the refusal.
  auto list = RunCommand({BinPath("llmdesk").string(), "history", "list", "--json"});
  auto conversations = nlohmann::json::parse(list.out, nullptr, false);
  ASSERT_TRUE(conversations.is_array() && conversations.size() == 1u) << list.out << list.err;
  auto shown = RunCommand({BinPath("llmdesk").string(), "history", "export", std::to_string(conversations[0].value("id", 0))});
  auto conversation = nlohmann::json::parse(shown.out, nullptr, false);
  ASSERT_TRUE(conversation.is_object()) << shown.out << shown.err;
  std::string tool_message;
  for (const auto& m : conversation["messages"])
    if (m.value("role", "") == "tool") tool_message = m.value("content", "");
  EXPECT_NE(tool_message.find("denied"), std::string::npos) << shown.out;
}

}  // namespace
}  // namespace llmdesk::test
