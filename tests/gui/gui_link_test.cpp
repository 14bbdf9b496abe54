// The app and the stack it talks to: attaching with the config's gateway token to an `llmdesk serve` it did not
// start (and a clear error when that stack refuses the token), Settings saved and applied to the running stack
// without restarting anything, and the tool server's and gateway's rows showing the ports the stack really bound.
#include <sys/socket.h>

#include <QComboBox>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTest>

#include "backend_table.h"
#include "chat_tab.h"
#include "control/control.h"
#include "gui_fixture.h"
#include "servers_tab.h"
#include "settings_tab.h"
#include "support/child_process.h"

namespace llmdesk::test {
namespace {

using namespace std::chrono_literals;

class GuiLink : public GuiTest {
 protected:
  std::string AbsentModel() { return "  default:\n    model: " + (dir_.path() / "absent.gguf").string() + "\n"; }
  // `llmdesk serve` started outside the app, on `file`.
  std::unique_ptr<ChildProcess> ServeElsewhere(const std::string& file) {
    auto serve = std::make_unique<ChildProcess>(
        std::vector<std::string>{BinPath("llmdesk").string(), "--config", file, "serve", "--on-demand"},
        dir_.path() / "serve.log");
    EXPECT_TRUE(WaitForHttp200(gateway_, "/health", 30s, serve.get()));
    return serve;
  }
  static QString Problem(gui::MainWindow& w) { return w.findChild<QLabel*>("problemBanner")->text(); }
  static const gui::ServerRow* Row(gui::MainWindow& w, const QString& name) {
    auto* table = w.servers()->table();
    return table->Row(table->RowOf(name));
  }
};

TEST_F(GuiLink, AttachesToAStackItDidNotStartWithTheConfiguredToken) {
  gateway_token_ = "s3cret-token";
  const std::string file = WriteConfig(AbsentModel());
  auto serve = ServeElsewhere(file);
  auto& w = OpenWindow();
  ASSERT_TRUE(WaitFor([&] { return w.link().ready() || !Problem(w).isEmpty(); }, 30s));
  ASSERT_TRUE(w.link().ready()) << Problem(w).toStdString();
  EXPECT_FALSE(w.link().started_serve()) << "a stack was running: the app must attach to it";
  EXPECT_EQ(w.link().serve_pid(), serve->pid());
  // /api/backends asks for the token: the row is there only when the app sent it.
  ASSERT_TRUE(WaitFor([&] { return Row(w, "default") != nullptr; }, 10s)) << "no backend listed: the token was not sent";
  EXPECT_EQ(Row(w, "default")->state, "stopped");
}

TEST_F(GuiLink, AStackThatRefusesTheTokenIsAClearError) {
  gateway_token_ = "the-right-token";
  const std::string serve_file = dir_.Write("serve.yaml", "").string();
  std::filesystem::copy_file(WriteConfig(AbsentModel()), serve_file, std::filesystem::copy_options::overwrite_existing);
  auto serve = ServeElsewhere(serve_file);
  gateway_token_ = "a-stale-token";
  WriteConfig(AbsentModel());  // the app's config: same port, another token
  auto& w = OpenWindow();
  ASSERT_TRUE(WaitFor([&] { return !Problem(w).isEmpty(); }, 30s)) << "no error shown";
  EXPECT_FALSE(w.link().ready());
  EXPECT_TRUE(Problem(w).contains("refused the gateway token")) << Problem(w).toStdString();
  EXPECT_TRUE(Problem(w).contains(QString::number(serve->pid()))) << Problem(w).toStdString();
  EXPECT_TRUE(w.findChild<QLabel*>("problemBanner")->isVisible());
}

TEST_F(GuiLink, SettingsAreSavedAndAppliedToTheRunningStack) {
  WriteConfig(AbsentModel());
  auto& w = OpenWindow();
  ASSERT_TRUE(WaitFor([&] { return w.link().ready(); }, 60s));
  const qint64 serve_pid = w.link().serve_pid();
  w.tabs()->setCurrentWidget(w.settings());
  auto* editor = w.findChild<QPlainTextEdit*>("configEditor");
  ASSERT_TRUE(WaitFor([&] { return editor->toPlainText().contains("models:"); }, 10s));
  // A second model, and the gateway on another port (which only a restart can apply).
  QString text = editor->toPlainText();
  text.replace(QString("port: %1}").arg(gateway_), QString("port: %1}").arg(gateway_ + 9));
  editor->setPlainText(text + "  second:\n    model: " + QString::fromStdString((dir_.path() / "other.gguf").string()) + "\n");
  auto* save = w.findChild<QPushButton*>("saveConfig");
  ASSERT_TRUE(WaitFor([&] { return save->isEnabled(); }, 5s)) << w.settings()->problems().join("\n").toStdString();
  QTest::mouseClick(save, Qt::LeftButton);
  ASSERT_TRUE(WaitFor([&] { return w.settings()->status_text().contains("Reloaded"); }, 20s))
      << w.settings()->status_text().toStdString();
  const QString outcome = w.settings()->status_text();
  EXPECT_TRUE(outcome.contains("added: second")) << outcome.toStdString();
  EXPECT_TRUE(outcome.contains("unchanged (left running as they were): default")) << outcome.toStdString();
  EXPECT_TRUE(outcome.contains(QString("needs a restart of the stack: gateway.port: %1 -> %2").arg(gateway_).arg(gateway_ + 9)))
      << outcome.toStdString();
  // The same stack (no restart), now with the new backend in the Servers tab and the model picker.
  EXPECT_EQ(w.link().serve_pid(), serve_pid);
  EXPECT_TRUE(WaitFor([&] { return Row(w, "second") != nullptr; }, 10s)) << "the Servers tab does not list 'second'";
  EXPECT_GE(w.findChild<QComboBox*>("modelPicker")->findText("second"), 0);
  control::ControlClient client("127.0.0.1", gateway_);
  EXPECT_TRUE(client.Backend("second").ok()) << "the stack did not register the new backend";
  Screenshot(4, "settings-applied");
}

TEST_F(GuiLink, ToolServerAndGatewayRowsShowTheBoundPorts) {
  // Another program holds the tool server's configured port: the stack falls back to the next free one.
  int held = 0;
  UniqueFd holder = BindLoopbackSocket(held);
  ASSERT_EQ(listen(holder.get(), 1), 0);
  tool_port_ = held;
  WriteConfig(AbsentModel());
  auto& w = OpenWindow();
  ASSERT_TRUE(WaitFor([&] { return w.link().ready(); }, 60s));
  control::ControlClient client("127.0.0.1", gateway_);
  auto stack = client.StackStatus();
  ASSERT_TRUE(stack.ok()) << stack.status().message();
  int bound = 0;
  for (const auto& l : (*stack)["listeners"])
    if (l.value("name", "") == "tool server") bound = l.value("port", 0);
  ASSERT_GT(bound, 0) << stack->dump();
  ASSERT_NE(bound, held);
  ASSERT_TRUE(WaitFor([&] { return Row(w, "tool server") && Row(w, "tool server")->port == bound; }, 10s));
  auto* table = w.servers()->table();
  auto cell = [&](const QString& name) {
    return table->data(table->index(table->RowOf(name), gui::BackendTable::kPort), Qt::DisplayRole).toString();
  };
  EXPECT_EQ(cell("tool server"), QString("%1 → %2").arg(held).arg(bound));
  EXPECT_EQ(Row(w, "tool server")->state, "running");
  EXPECT_EQ(cell("gateway"), QString::number(gateway_));
}

}  // namespace
}  // namespace llmdesk::test
