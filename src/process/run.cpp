#include "process/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/unique_fd.h"
#include "process/environment.h"

extern char** environ;

namespace llmdesk::process {

Result<RunOutput> RunCapture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                             size_t max_output, const std::map<std::string, std::string>& env) {
  if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("no command to run");
  const char* search_path = std::getenv("PATH");  // the same lookup as Child::Spawn
  auto program = FindProgram(argv[0], search_path ? search_path : "/usr/local/bin:/usr/bin:/bin");
  if (!program) return Status::NotFound("cannot run " + argv[0] + ": no such executable file");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::IoError(std::string("pipe: ") + strerror(errno));
  UniqueFd read_end(fds[0]), write_end(fds[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // As Child::Spawn does: nothing but stdio reaches the program. Sockets accepted by asio or opened by libcurl
  // have no O_CLOEXEC; a program holding a copy of a keep-alive connection keeps it open after our own side closes
  // it, so the peer sees no FIN, reuses it, and waits for an answer nobody will send (a tools/call hung 60 s so in
  // CI, where the tests' own spawner had leaked the stack's sockets into node).
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  std::vector<std::string> env_strings;
  if (!env.empty()) env_strings = BuildEnvironment(env);
  std::vector<char*> env_pointers = EnvironmentPointers(env_strings);
  int rc = posix_spawn(&pid, program->c_str(), &actions, &attr, args.data(), env.empty() ? environ : env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::NotFound("cannot run " + argv[0] + ": " + strerror(rc));
  write_end.reset();

  UniqueFd pidfd = OpenPidfd(pid);
  RunOutput out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool open = true, timed_out = false;
  char buffer[4096];
  while (open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) { timed_out = true; break; }
    pollfd p{read_end.get(), POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = read(read_end.get(), buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) { open = false; break; }
    size_t room = max_output > out.output.size() ? max_output - out.output.size() : 0;
    out.output.append(buffer, std::min(room, static_cast<size_t>(got)));
  }
  if (timed_out) kill(-pid, SIGKILL);
  // The pipe closed (or we killed it): wait for the exit, bounded by the same deadline plus a margin.
  if (pidfd.valid() && !timed_out) {
    pollfd p{pidfd.get(), POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (poll(&p, 1, std::max<int>(0, static_cast<int>(left.count()))) == 0) { kill(-pid, SIGKILL); timed_out = true; }
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {}
  if (timed_out) return Status::Timeout(argv[0] + " did not finish within " + std::to_string(timeout.count()) + " ms");
  out.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  return out;
}

}  // namespace llmdesk::process
