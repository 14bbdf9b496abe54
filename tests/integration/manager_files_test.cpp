// The Manager's files on a shared machine: state and log directories that are not safely ours are
// refused, planted symlinks are not followed, and a crashed manager's engine children are cleaned up.
// Tests run as root, so "another user's directory" is made with chown.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integration/manager_fixture.h"

namespace llmdesk::manager {
namespace {

using namespace std::chrono_literals;
using namespace testing_support;
using test::BinPath;
using ::testing::HasSubstr;

constexpr uid_t kOtherUid = 12345;

class ManagerFilesTest : public ManagerTest {
 protected:
  Status CreateWith(const std::filesystem::path& state_dir, const std::filesystem::path& log_dir) {
    auto o = MakeOptions({Model("a", base_)});
    o.state_dir = state_dir;
    o.log_dir = log_dir;
    auto m = Manager::Create(o);
    return m.ok() ? Status::Ok() : m.status();
  }
};

TEST_F(ManagerFilesTest, StateDirectoryOfAnotherUserIsRefused) {
  const auto dir = dir_.path() / "theirs";
  std::filesystem::create_directory(dir);
  chmod(dir.c_str(), 0700);
  ASSERT_EQ(chown(dir.c_str(), kOtherUid, kOtherUid), 0);
  Status st = CreateWith(dir, dir_.path() / "logs");
  EXPECT_EQ(st.code(), Status::Code::kPermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("state directory " + dir.string() + " is owned by UID 12345"));
  EXPECT_FALSE(std::filesystem::exists(dir / "defaults.lock"));
}

TEST_F(ManagerFilesTest, StateDirectoryThatIsASymlinkIsRefused) {
  const auto real = dir_.path() / "real";
  std::filesystem::create_directory(real);
  chmod(real.c_str(), 0700);
  std::filesystem::create_directory_symlink(real, dir_.path() / "link");
  Status st = CreateWith(dir_.path() / "link", dir_.path() / "logs");
  EXPECT_EQ(st.code(), Status::Code::kPermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("is a symbolic link"));
  EXPECT_TRUE(std::filesystem::is_empty(real));
}

TEST_F(ManagerFilesTest, WorldWritableDirectoriesAreRefusedAndNewOnesArePrivate) {
  const auto open_dir = dir_.path() / "open";
  std::filesystem::create_directory(open_dir);
  chmod(open_dir.c_str(), 0777);
  Status st = CreateWith(open_dir, dir_.path() / "logs");
  EXPECT_EQ(st.code(), Status::Code::kPermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("writable by group or others (mode 0777)"));
  EXPECT_THAT(st.message(), HasSubstr("chmod 700"));
  st = CreateWith(dir_.path() / "state", open_dir);
  EXPECT_EQ(st.code(), Status::Code::kPermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("log directory"));

  ASSERT_TRUE(CreateWith(dir_.path() / "fresh-state", dir_.path() / "fresh-logs").ok());
  struct stat s {};
  ASSERT_EQ(lstat((dir_.path() / "fresh-state").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 0777, 0700u);
  ASSERT_EQ(lstat((dir_.path() / "fresh-logs").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 0777, 0700u);
}

TEST_F(ManagerFilesTest, PlantedSymlinksAreNeverFollowed) {
  auto o = MakeOptions({Model("a", base_)});
  const auto victim = dir_.Write("victim.txt", "precious\n");
  // The lock file: refused.
  std::filesystem::create_directories(o.state_dir);
  chmod(o.state_dir.c_str(), 0700);
  std::string key;
  {
    auto store = StateStore::Open(o.state_dir, o.config.source);
    ASSERT_TRUE(store.ok());
    key = (*store)->key();
  }
  const auto lock = o.state_dir / (key + ".lock");
  std::filesystem::remove(lock);
  std::filesystem::create_symlink(victim, lock);
  auto refused = Manager::Create(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("symbolic link"));
  std::filesystem::remove(lock);

  // The state file and the log file: replaced or left unwritten, never written through.
  const auto state = o.state_dir / (key + ".state.json");
  std::filesystem::create_symlink(victim, state);
  const auto log = LogFilePath(o.config, "a", o.log_dir);
  std::filesystem::create_directories(log.parent_path());
  chmod(o.log_dir.c_str(), 0700);
  chmod(log.parent_path().c_str(), 0700);
  std::filesystem::create_symlink(victim, log);
  auto m = Make(o);
  ASSERT_TRUE(m->Start("a").ok());
  ASSERT_TRUE(rec_.WaitState(State::kReady));
  EXPECT_EQ(test::ReadFileBytes(victim), "precious\n");
  EXPECT_FALSE(std::filesystem::is_symlink(state));  // replaced by rename, the victim untouched
  EXPECT_FALSE(m->LogTail("a", 5).empty());         // the ring still has the lines
}

TEST_F(ManagerFilesTest, LogsOfTwoConfigsWithTheSameModelNameDoNotCollide) {
  auto o1 = MakeOptions({Model("qwen:7b", base_)});
  auto o2 = o1;
  o2.config.source = (dir_.path() / "other.yaml").string();
  o2.state_dir = dir_.path() / "state2";
  auto m1 = Manager::Create(o1);
  auto m2 = Manager::Create(o2);
  ASSERT_TRUE(m1.ok() && m2.ok());
  const auto f1 = (*m1)->Get("qwen:7b")->log_file;
  const auto f2 = (*m2)->Get("qwen:7b")->log_file;
  EXPECT_NE(f1, f2);
  EXPECT_EQ(f1, LogFilePath(o1.config, "qwen:7b", o1.log_dir).string());
  EXPECT_THAT(f1, HasSubstr("qwen%3A7b.log"));
}

// The engine's helper processes keep its process group after the engine dies with a crashed manager
// (PR_SET_PDEATHSIG reaches only the engine): the next manager must find and stop them.
TEST_F(ManagerFilesTest, KilledManagersEngineChildrenAreStoppedByTheNextManager) {
  auto o = MakeOptions({Model("a", base_, {"--spawn-child"})});
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  pid_t manager_pid = fork();  // nothing else runs in the test yet: safe to fork
  ASSERT_GE(manager_pid, 0);
  if (manager_pid == 0) {
    close(report[0]);
    auto m = Manager::Create(o);
    if (!m.ok()) _exit(2);
    (void)(*m)->Start("a");
    auto st = (*m)->WaitUntil("a", [](const BackendStatus& s) { return s.state == State::kReady; }, 20s);
    pid_t engine = st.ok() ? st->pid : 0;
    (void)!write(report[1], &engine, sizeof(engine));
    for (;;) pause();
  }
  close(report[1]);
  UniqueFd report_r(report[0]);
  pid_t engine = 0;
  ASSERT_TRUE(WaitReadable(report_r.get(), 30s));
  ASSERT_EQ(read(report_r.get(), &engine, sizeof(engine)), static_cast<ssize_t>(sizeof(engine)));
  ASSERT_GT(engine, 0);
  const std::string log = test::ReadFileBytes(LogFilePath(o.config, "a", o.log_dir));
  const auto at = log.find("stand-in child PID ");
  ASSERT_NE(at, std::string::npos) << log;
  const pid_t helper = std::atoi(log.c_str() + at + 19);
  ASSERT_GT(helper, 0);
  kill(manager_pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(manager_pid, &status, 0), manager_pid);
  EXPECT_TRUE(ProcessGone(engine, 5s));      // PR_SET_PDEATHSIG
  EXPECT_FALSE(ProcessGone(helper, 200ms));  // ... but not its child
  auto next = Manager::Create(o);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_TRUE(ProcessGone(helper, 5s));
  std::string notes;
  for (const auto& n : (*next)->startup_notes()) notes += n + "\n";
  EXPECT_THAT(notes, HasSubstr("stopped 1 leftover process(es) of stale engine 'a'"));
  kill(helper, SIGKILL);  // in case the test failed: leave nothing behind
}

}  // namespace
}  // namespace llmdesk::manager
