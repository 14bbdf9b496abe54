// Test Chat and Logs as a person uses them in a session: Stop in the middle of an answer, the approval prompt's
// "Allow once" and "Allow always", and finding and copying a line of a backend's log. The model here is the
// scripted stand-in (support/scripted_openai.h) as a `url:` backend: it streams a long answer slowly and calls
// the calculator on cue, which the tiny generated models cannot do on demand.
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QCheckBox>
#include <QLabel>
#include <QLineEdit>
#include <QTextBlock>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTest>

#include "chat_tab.h"
#include "chat_widgets.h"
#include "gui_fixture.h"
#include "backend_table.h"
#include "logs_tab.h"
#include "servers_tab.h"
#include "support/scripted_openai.h"

namespace llmdesk::test {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

class GuiSession : public GuiTest {
 protected:
  // The scripted stand-in as the only model, `default`.
  std::string Scripted(ScriptedOpenAi& model) { return "  default:\n    url: " + model.base_url() + "\n"; }

  void Send(gui::MainWindow& w, const QString& text, bool tools) {
    auto* picker = w.findChild<QComboBox*>("modelPicker");
    auto* use_tools = w.findChild<QCheckBox*>("enableToolUse");
    ASSERT_TRUE(WaitFor([&] { return picker->findText("default") >= 0; }, 10s));
    picker->setCurrentIndex(picker->findText("default"));
    use_tools->setChecked(tools);
    QTest::keyClicks(w.findChild<QPlainTextEdit*>("chatInput"), text);
    QTest::mouseClick(w.findChild<QPushButton*>("send"), Qt::LeftButton);
    ASSERT_TRUE(w.chat()->busy());
  }
  static QString LastAssistant(gui::MainWindow& w) {
    QString text;
    for (auto* m : w.chat()->messages())
      if (m->role() == gui::MessageView::Role::kAssistant) text = m->markdown();
    return text;
  }
  static Json Conversation(int64_t id) {
    auto r = RunCommand({BinPath("llmdesk").string(), "history", "export", std::to_string(id)});
    return Json::parse(r.out, nullptr, false);
  }
};

TEST_F(GuiSession, StopMidAnswerKeepsThePartialAnswerAsTheHistoryDoes) {
  std::string story;
  for (int i = 0; i < 40; ++i) story += "word" + std::to_string(i) + " ";
  Turn slow = Turn::Text(story, 40);
  slow.pause = 150ms;  // ~6 s for the whole answer
  ScriptedOpenAi model({slow});
  WriteConfig(Scripted(model));
  auto& w = OpenWindow();
  ASSERT_TRUE(WaitFor([&] { return w.link().ready(); }, 60s));
  Send(w, "Tell me a long story", /*tools=*/false);
  ASSERT_TRUE(WaitFor([&] { return LastAssistant(w).contains("word2 "); }, 30s)) << "no tokens arrived";
  auto* stop = w.findChild<QPushButton*>("stop");
  ASSERT_TRUE(stop->isEnabled());
  QTest::mouseClick(stop, Qt::LeftButton);
  ASSERT_TRUE(WaitFor([&] { return !w.chat()->busy(); }, 5s)) << "the turn did not stop";
  EXPECT_TRUE(w.findChild<QPushButton*>("send")->isEnabled()) << "the UI is not idle again";
  EXPECT_FALSE(stop->isEnabled());
  const QString partial = LastAssistant(w);
  EXPECT_FALSE(partial.contains("word39")) << "the whole answer arrived: nothing was stopped";
  EXPECT_TRUE(partial.startsWith("word0 word1 word2 ")) << partial.toStdString();
  EXPECT_EQ(w.chat()->progress_history().back(), "Stopped");
  for (auto* m : w.chat()->messages())
    EXPECT_FALSE(m->markdown().contains("Error")) << "a stop is not an error: " << m->markdown().toStdString();

  // The history keeps the partial answer (an incomplete message); what the app shows is where it begins.
  Json list = Json::parse(RunCommand({BinPath("llmdesk").string(), "history", "list", "--json"}).out, nullptr, false);
  ASSERT_TRUE(list.is_array() && list.size() == 1u) << list.dump();
  Json conversation = Conversation(list[0].value("id", int64_t{0}));
  std::string stored;
  for (const auto& m : conversation.value("messages", Json::array()))
    if (m.value("role", "") == "assistant") stored = m.value("content", "");
  EXPECT_TRUE(QString::fromStdString(stored).startsWith(partial.trimmed())) << stored << " | " << partial.toStdString();
  EXPECT_EQ(stored.find("word39"), std::string::npos) << stored;
}

TEST_F(GuiSession, AllowOnceAsksAgainAllowAlwaysDoesNot) {
  const std::string call = R"({"expression":"2+2"})";
  ScriptedOpenAi model({Turn::ToolCalls({{"calculator", call}}), Turn::Text("It is 4."),
                        Turn::ToolCalls({{"calculator", call}}), Turn::Text("Still 4."),
                        Turn::ToolCalls({{"calculator", call}}), Turn::Text("4 again.")});
  WriteConfig(Scripted(model), "chat: {tools: {calculator: ask}}\n");
  auto& w = OpenWindow();
  ASSERT_TRUE(WaitFor([&] { return w.link().ready(); }, 60s));
  auto* once = w.findChild<QPushButton*>("approveOnce");
  auto* always = w.findChild<QPushButton*>("approveAlways");
  auto turn = [&](QPushButton* answer, const QString& expected) {
    Send(w, "What's 2+2?", /*tools=*/true);
    if (answer) {
      ASSERT_TRUE(WaitFor([&] { return answer->isVisible() || !w.chat()->busy(); }, 30s));
      ASSERT_TRUE(answer->isVisible()) << "no approval prompt: " << w.chat()->progress_history().join("\n").toStdString();
      if (answer == once) Screenshot(0, "chat-approval");
      QTest::mouseClick(answer, Qt::LeftButton);
    }
    bool prompted = false;
    ASSERT_TRUE(WaitFor([&] { return (prompted = prompted || once->isVisible(), !w.chat()->busy()); }, 30s));
    EXPECT_FALSE(prompted && !answer) << "asked again after \"Allow always\"";
    EXPECT_TRUE(LastAssistant(w).contains(expected)) << LastAssistant(w).toStdString();
    auto cards = w.chat()->tool_cards();
    ASSERT_FALSE(cards.isEmpty());
    EXPECT_EQ(cards.back()->result(), "4");
    EXPECT_FALSE(cards.back()->is_error());
  };
  turn(once, "It is 4.");              // allowed once
  turn(always, "Still 4.");            // asked again (once was once), allowed always
  turn(nullptr, "4 again.");           // no prompt: always holds for the session
}

TEST_F(GuiSession, LogSearchFindsALineAndCopyPutsTheLogOnTheClipboard) {
  WriteConfig(LocalModel(model_port_));
  auto& w = OpenWindow();
  ASSERT_TRUE(WaitFor([&] { return w.link().ready(); }, 60s));
  // Start the backend so its log has lines (llama-server's own "... listening on http://127.0.0.1:PORT" among them).
  w.tabs()->setCurrentWidget(w.servers());
  ASSERT_TRUE(WaitFor([&] { return w.servers()->table()->RowOf("default") >= 0; }, 10s));
  w.servers()->SelectBackend("default");
  auto* start = w.findChild<QPushButton*>("startBackend");
  ASSERT_TRUE(WaitFor([&] { return start->isEnabled(); }, 10s));
  QTest::mouseClick(start, Qt::LeftButton);
  w.tabs()->setCurrentWidget(w.logs());
  auto* log = w.findChild<QPlainTextEdit*>("logText");
  const QString line = QString("listening on http://127.0.0.1:");
  ASSERT_TRUE(WaitFor([&] { return log->toPlainText().contains(line); }, 60s)) << log->toPlainText().toStdString();

  auto* search = w.findChild<QLineEdit*>("logSearch");
  log->moveCursor(QTextCursor::End);  // the search wraps around to find it
  QTest::keyClicks(search, "listening on");
  QTest::keyClick(search, Qt::Key_Return);
  EXPECT_EQ(log->textCursor().selectedText(), "listening on") << "Enter did not find the line";
  EXPECT_TRUE(log->textCursor().block().text().contains(line)) << log->textCursor().block().text().toStdString();
  search->clear();
  QTest::keyClicks(search, "no such text anywhere");
  EXPECT_FALSE(w.logs()->FindNext());
  EXPECT_TRUE(w.findChild<QLabel*>("logStatus")->text().contains("is not in this log"));

  QApplication::clipboard()->clear();
  QTest::mouseClick(w.findChild<QPushButton*>("logCopy"), Qt::LeftButton);
  const QString copied = QApplication::clipboard()->text();
  EXPECT_TRUE(copied.contains(line)) << copied.left(300).toStdString();
  EXPECT_EQ(copied, log->toPlainText());
}

}  // namespace
}  // namespace llmdesk::test
