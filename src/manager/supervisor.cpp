// The supervisor thread: one epoll loop over the command eventfd, every child's pidfd and output pipe,
// with timers computed into the epoll timeout. Nothing here sleeps or blocks on a child.
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

#include "manager/impl.h"

namespace llmdesk::manager {
namespace {

constexpr size_t kRecentLines = 40;  // per child, for failure reasons

// epoll tags: 0 = the wake eventfd; a child's pidfd = serial*2, its output pipe = serial*2+1.
uint64_t PidfdTag(uint64_t serial) { return serial * 2; }
uint64_t OutputTag(uint64_t serial) { return serial * 2 + 1; }

}  // namespace

void Manager::Impl::Loop() {
  subscribers->supervisor_thread = std::this_thread::get_id();
  epoll_event events[32];
  for (;;) {
    RunQueued();
    OnTimers(Clock::now());
    if (quitting && children.empty()) break;
    int timeout_ms = -1;
    if (auto deadline = NextDeadline()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, 60'000));
    }
    int n = epoll_wait(epoll_fd.get(), events, 32, timeout_ms);
    if (n < 0 && errno != EINTR) {
      spdlog::error("llmdesk manager: epoll_wait failed: {}", strerror(errno));
      break;
    }
    for (int k = 0; k < n; ++k) {
      const uint64_t tag = events[k].data.u64;
      if (tag == 0) {
        uint64_t count;
        (void)!read(wake_fd.get(), &count, sizeof(count));
      } else if (tag % 2 == 1) {
        OnOutput(tag / 2);
      } else {
        OnPidfd(tag / 2);
      }
    }
  }
  // Only reached when quitting with no children left, or when epoll itself broke: then the Child
  // destructors SIGKILL and reap whatever remains.
  children.clear();
  WriteStateFile();
  subscribers->supervisor_thread = std::thread::id();
}

void Manager::Impl::RunQueued() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(queue_mu);
    work.swap(queue);
  }
  for (auto& fn : work) fn();
}

void Manager::Impl::Watch(uint64_t serial, Tracked tracked) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = PidfdTag(serial);
  epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, tracked.child->pidfd(), &ev);
  ev.data.u64 = OutputTag(serial);
  epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, tracked.child->output_fd(), &ev);
  children.emplace(serial, std::move(tracked));
}

void Manager::Impl::OnOutput(uint64_t serial) {
  auto it = children.find(serial);
  if (it == children.end()) return;
  auto& child = *it->second.child;
  if (!child.ReadOutput([&](std::string_view line) { OnLine(serial, line); }) && child.output_fd() >= 0) {
    epoll_ctl(epoll_fd.get(), EPOLL_CTL_DEL, child.output_fd(), nullptr);
    child.CloseOutput();
  }
}

void Manager::Impl::OnPidfd(uint64_t serial) {
  auto it = children.find(serial);
  if (it == children.end()) return;
  auto& child = *it->second.child;
  // Whatever it printed before exiting is in the pipe now; read it before judging the exit.
  if (child.output_fd() >= 0) {
    child.ReadOutput([&](std::string_view line) { OnLine(serial, line); });
    epoll_ctl(epoll_fd.get(), EPOLL_CTL_DEL, child.output_fd(), nullptr);
    child.CloseOutput();  // a grandchild may keep the pipe open: its later output is not ours to wait for
  }
  if (!child.TryReap()) return;  // not yet (cannot happen once the pidfd is readable)
  epoll_ctl(epoll_fd.get(), EPOLL_CTL_DEL, child.pidfd(), nullptr);
  Tracked tracked = std::move(it->second);
  children.erase(it);
  OnExit(serial, std::move(tracked));
  WriteStateFile();
}

void Manager::Impl::OnLine(uint64_t serial, std::string_view line) {
  auto& tracked = children.at(serial);
  auto& b = backends[tracked.backend];
  b.log->Add(std::string(line));
  tracked.recent.emplace_back(line);
  if (tracked.recent.size() > kRecentLines) tracked.recent.pop_front();
  if (internal::IsAddressInUseLine(line)) tracked.address_in_use = true;

  const bool active = b.child == serial;
  if (active && b.status.state == State::kStarting) {
    if (auto p = internal::ParseLoadLine(line)) {
      if (p->worth_probing && !b.probe_in_flight) b.probe_at = Clock::now();
      if (p->stage != b.status.stage || p->progress != b.status.progress) {
        b.status.stage = p->stage;
        b.status.progress = p->progress;
        Publish(tracked.backend);
        Event e;
        e.kind = Event::Kind::kProgress;
        e.backend = b.status.name;
        e.old_state = e.new_state = b.status.state;
        e.port = b.status.port;
        e.pid = b.status.pid;
        e.progress = p->progress;
        e.stage = p->stage;
        Emit(std::move(e));
      }
    }
  }
  Event e;
  e.kind = Event::Kind::kLog;
  e.backend = b.status.name;
  e.old_state = e.new_state = b.status.state;
  e.port = tracked.port;
  e.pid = tracked.child->pid();
  e.reason = std::string(line);
  Emit(std::move(e));
}

void Manager::Impl::OnTimers(Clock::time_point now) {
  for (auto& [serial, tracked] : children) tracked.child->KillIfOverdue(now);
  for (size_t i = 0; i < backends.size(); ++i) {
    auto& b = backends[i];
    if (b.spawn_at && now >= *b.spawn_at) {
      b.spawn_at.reset();
      SpawnAttempt(i, "");
    }
    if (b.status.state == State::kStarting && b.startup_deadline && now >= *b.startup_deadline) {
      b.startup_deadline.reset();
      std::string tail;
      if (auto it = children.find(b.child); it != children.end())
        for (const auto& l : it->second.recent) tail += "\n  " + l;
      const bool remote = b.model.kind == config::ModelConfig::Kind::kRemote;
      Fail(i, (remote ? b.model.url + " did not answer" : "not healthy") + std::string(" within ") +
                  fmt::format("{:g}", b.model.startup_timeout_s) + " s (startup_timeout)" +
                  (tail.empty() ? "" : "; last log lines:" + tail));
    }
    if (b.probe_at && now >= *b.probe_at && !b.probe_in_flight) RequestProbe(i);
  }
}

std::optional<Clock::time_point> Manager::Impl::NextDeadline() const {
  std::optional<Clock::time_point> next;
  auto consider = [&](const std::optional<Clock::time_point>& t) {
    if (t && (!next || *t < *next)) next = t;
  };
  for (const auto& [serial, tracked] : children) consider(tracked.child->NextDeadline());
  for (const auto& b : backends) {
    consider(b.spawn_at);
    if (b.status.state == State::kStarting) consider(b.startup_deadline);
    if (!b.probe_in_flight) consider(b.probe_at);
  }
  return next;
}

void Manager::Impl::WriteStateFile() {
  std::vector<internal::EngineRecord> records;
  for (const auto& [serial, t] : children)
    records.push_back({backends[t.backend].status.name, t.child->pid(), t.start_time, t.port});
  store->Write(records);
}

}  // namespace llmdesk::manager
