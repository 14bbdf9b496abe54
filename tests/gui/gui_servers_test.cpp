// The Servers tab: a backend started and stopped with its buttons (a generated model through the real
// llama-server), and a configured port held by another program shown in a banner naming the holder's PID.
#include <sys/socket.h>
#include <unistd.h>

#include <QPushButton>
#include <QTableView>
#include <QTest>

#include "backend_table.h"
#include "gui_fixture.h"
#include "servers_tab.h"

namespace llmdesk::test {
namespace {

using namespace std::chrono_literals;

class GuiServers : public GuiTest {
 protected:
  QString StateOf(gui::MainWindow& w, const QString& name) {
    auto* table = w.servers()->table();
    const int row = table->RowOf(name);
    return row < 0 ? QString() : table->Row(row)->state;
  }
};

TEST_F(GuiServers, StartAndStopABackendAndSeeWhoHoldsItsPort) {
  // This test process holds the model's configured port: the banner must name our PID.
  int held = 0;
  UniqueFd holder = BindLoopbackSocket(held);
  ASSERT_TRUE(holder.valid());
  ASSERT_EQ(listen(holder.get(), 1), 0);
  WriteConfig(LocalModel(held));

  auto& w = OpenWindow();
  ASSERT_TRUE(WaitFor([&] { return w.link().ready(); }, 60s));
  w.tabs()->setCurrentWidget(w.servers());
  const QString pid_text = QString("PID %1").arg(getpid());
  ASSERT_TRUE(WaitFor([&] { return w.servers()->banner_text().contains(pid_text); }, 20s))
      << "banner: " << w.servers()->banner_text().toStdString();
  EXPECT_TRUE(w.servers()->banner_text().contains(QString("Port %1").arg(held))) << w.servers()->banner_text().toStdString();
  ASSERT_TRUE(WaitFor([&] { return StateOf(w, "default") == "stopped"; }, 10s)) << StateOf(w, "default").toStdString();
  EXPECT_EQ(StateOf(w, "tool server"), "running");
  EXPECT_EQ(StateOf(w, "gateway"), "running");

  auto* start = w.findChild<QPushButton*>("startBackend");
  auto* stop = w.findChild<QPushButton*>("stopBackend");
  w.servers()->SelectBackend("default");
  ASSERT_TRUE(WaitFor([&] { return start->isEnabled(); }, 5s));
  QTest::mouseClick(start, Qt::LeftButton);
  ASSERT_TRUE(WaitFor([&] { return StateOf(w, "default") == "ready"; }, 120s)) << StateOf(w, "default").toStdString();
  auto* table = w.servers()->table();
  const gui::ServerRow* row = table->Row(table->RowOf("default"));
  EXPECT_NE(row->port, held) << "the held port cannot be the engine's";
  EXPECT_GT(row->pid, 0);
  const QString port_cell = table->data(table->index(table->RowOf("default"), gui::BackendTable::kPort), Qt::DisplayRole).toString();
  EXPECT_EQ(port_cell, QString("%1 → %2").arg(held).arg(row->port));
  Screenshot(1, "servers-running");

  ASSERT_TRUE(WaitFor([&] { return stop->isEnabled(); }, 5s));
  QTest::mouseClick(stop, Qt::LeftButton);
  ASSERT_TRUE(WaitFor([&] { return StateOf(w, "default") == "stopped"; }, 60s)) << StateOf(w, "default").toStdString();
}

}  // namespace
}  // namespace llmdesk::test
