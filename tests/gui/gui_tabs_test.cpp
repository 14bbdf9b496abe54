// The Tools, Logs and Settings tabs against the app's own `llmdesk serve`: a tool tried through the form made from
// its inputSchema, and config errors shown at their line and column as the user types.
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QTabWidget>
#include <QTest>

#include "chat_tab.h"
#include "chat_widgets.h"
#include "gui_fixture.h"
#include "servers_tab.h"
#include "settings_tab.h"
#include "tools_tab.h"

namespace llmdesk::test {
namespace {

using namespace std::chrono_literals;

class GuiTabs : public GuiTest {};

TEST_F(GuiTabs, TryTheCalculatorFromItsSchemaForm) {
  WriteConfig("  default:\n    model: " + (dir_.path() / "absent.gguf").string() + "\n");
  auto& w = OpenWindow();
  ASSERT_TRUE(WaitFor([&] { return w.link().ready(); }, 60s));
  w.tabs()->setCurrentWidget(w.tools());
  ASSERT_TRUE(WaitFor([&] { return w.tools()->Select("calculator"); }, 20s)) << "calculator is not listed";
  auto* expression = w.findChild<QLineEdit*>("arg_expression");
  ASSERT_NE(expression, nullptr) << "no form field for the schema's 'expression'";
  QTest::keyClicks(expression, "6*7");
  QTest::mouseClick(w.findChild<QPushButton*>("runTool"), Qt::LeftButton);
  ASSERT_TRUE(WaitFor([&] { return w.tools()->result_text().startsWith("Result"); }, 20s)) << w.tools()->result_text().toStdString();
  EXPECT_TRUE(w.tools()->result_text().contains("42")) << w.tools()->result_text().toStdString();
}

TEST_F(GuiTabs, SettingsShowConfigErrorsAtLineAndColumn) {
  WriteConfig("  default:\n    model: " + (dir_.path() / "absent.gguf").string() + "\n");
  auto& w = OpenWindow();
  ASSERT_TRUE(WaitFor([&] { return w.link().ready(); }, 60s));
  w.tabs()->setCurrentWidget(w.settings());
  auto* editor = w.findChild<QPlainTextEdit*>("configEditor");
  ASSERT_TRUE(WaitFor([&] { return editor->toPlainText().contains("models:"); }, 10s));
  auto errors = [&] { return w.settings()->problems().filter(": error: "); };
  EXPECT_TRUE(errors().isEmpty()) << w.settings()->problems().join("\n").toStdString();
  // A typo'd key on the last line: the loader names it, with a line and a column.
  const int last_line = editor->document()->blockCount() + (editor->toPlainText().endsWith('\n') ? 0 : 1);
  editor->moveCursor(QTextCursor::End);
  if (!editor->toPlainText().endsWith('\n')) QTest::keyClick(editor, Qt::Key_Return);
  QTest::keyClicks(editor, "    prot: 10500");
  ASSERT_TRUE(WaitFor([&] { return !errors().isEmpty(); }, 5s)) << w.settings()->problems().join("\n").toStdString();
  const QString first = errors().front();
  EXPECT_TRUE(first.startsWith(QString("%1:5:").arg(last_line))) << first.toStdString();
  EXPECT_TRUE(first.contains("prot")) << first.toStdString();
  EXPECT_FALSE(w.findChild<QPushButton*>("saveConfig")->isEnabled()) << "a config with errors must not be saved";
}

TEST_F(GuiTabs, KeyboardShortcutsAndRememberedGeometry) {
  WriteConfig("  default:\n    model: " + (dir_.path() / "absent.gguf").string() + "\n");
  auto& w = OpenWindow();
  ASSERT_TRUE(WaitFor([&] { return w.link().ready(); }, 60s));
  QTest::keyClick(&w, Qt::Key_2, Qt::ControlModifier);
  EXPECT_EQ(w.tabs()->currentWidget(), static_cast<QWidget*>(w.servers())) << "Ctrl+2 should open Servers";
  QTest::keyClick(&w, Qt::Key_1, Qt::ControlModifier);
  ASSERT_EQ(w.tabs()->currentWidget(), static_cast<QWidget*>(w.chat())) << "Ctrl+1 should open Test Chat";
  // Ctrl+Enter in the input sends; the model's file is absent, so the turn ends with an error note.
  auto* input = w.findChild<QPlainTextEdit*>("chatInput");
  input->setFocus();
  QTest::keyClicks(input, "hello");
  QTest::keyClick(input, Qt::Key_Return, Qt::ControlModifier);
  EXPECT_TRUE(input->toPlainText().isEmpty()) << "Ctrl+Enter did not send: " << input->toPlainText().toStdString();
  ASSERT_TRUE(WaitFor([&] { return !w.chat()->busy(); }, 30s));
  ASSERT_FALSE(w.chat()->messages().isEmpty());
  EXPECT_EQ(w.chat()->messages().front()->markdown(), "hello");

  w.resize(900, 640);
  CloseWindow();
  QSettings settings;
  EXPECT_FALSE(settings.value("window/geometry").toByteArray().isEmpty()) << "the geometry was not saved";
  auto& again = OpenWindow();
  EXPECT_EQ(again.size(), QSize(900, 640)) << "the geometry was not restored";
}

}  // namespace
}  // namespace llmdesk::test
