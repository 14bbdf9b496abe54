// The Tools, Logs and Settings tabs against the app's own `llmdesk serve`: a tool tried through the form made from
// its inputSchema, and config errors shown at their line and column as the user types.
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTabWidget>
#include <QTest>

#include "gui_fixture.h"
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

}  // namespace
}  // namespace llmdesk::test
