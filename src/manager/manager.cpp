// Public side of the Manager: every method here may run on any thread. Commands are queued for the
// supervisor thread; reads come from a snapshot it publishes after every change.
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "manager/impl.h"

namespace llmdesk::manager {
namespace {

std::string FileSafe(const std::string& name) {
  std::string out = name;
  for (auto& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return out.empty() ? "backend" : out;
}

}  // namespace

std::string BackendStatus::url() const {
  if (kind == config::ModelConfig::Kind::kRemote) return remote_url;
  return port ? "http://127.0.0.1:" + std::to_string(port) : "";
}

void Subscribers::Cancel(uint64_t id) {
  {
    std::lock_guard lock(mu);
    fns.erase(id);
    active.erase(id);
  }
  // Wait for a delivery in progress, so the subscriber may free what its callback uses — unless we
  // are that delivery (a callback cancelling itself).
  if (supervisor_thread.load() != std::this_thread::get_id()) std::lock_guard wait(deliver_mu);
}

Manager::Impl::~Impl() {
  backends.clear();  // joins the probe threads before the queue they post to goes away
}

void Manager::Impl::Post(std::function<void()> fn) {
  {
    std::lock_guard lock(queue_mu);
    queue.push_back(std::move(fn));
  }
  uint64_t one = 1;
  (void)!write(wake_fd.get(), &one, sizeof(one));
}

void Manager::Impl::EmitTo(const Subscribers::Fn& fn, Event e) {
  try {
    fn(e);
  } catch (const std::exception& ex) {
    spdlog::error("llmdesk manager: an event subscriber threw: {}", ex.what());
  }
}

void Manager::Impl::Emit(Event e) {
  e.seq = next_seq++;
  e.time = std::chrono::system_clock::now();
  std::vector<std::shared_ptr<Subscribers::Fn>> targets;
  std::lock_guard deliver(subscribers->deliver_mu);
  {
    std::lock_guard lock(subscribers->mu);
    for (uint64_t id : subscribers->active) targets.push_back(subscribers->fns.at(id));
  }
  for (const auto& fn : targets) EmitTo(*fn, e);
}

void Manager::Impl::Publish(size_t i) {
  {
    std::lock_guard lock(status_mu);
    snapshot[i] = backends[i].status;
  }
  status_cv.notify_all();
}

Result<std::unique_ptr<Manager>> Manager::Create(Options options) {
  if (options.state_dir.empty()) options.state_dir = internal::DefaultStateDir();
  if (options.log_dir.empty()) options.log_dir = internal::DefaultLogDir();
  if (options.log_ring_lines == 0) options.log_ring_lines = 1;
  if (options.port_attempts < 1) options.port_attempts = 1;
  auto store = internal::StateStore::Open(options.state_dir, options.config.source);
  if (!store.ok()) return store.status();

  auto impl = std::make_unique<Impl>(std::move(options));
  Impl* self = impl.get();
  impl->store = std::move(store).value();
  impl->notes = impl->store->CleanStale();
  impl->wake_fd.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  impl->epoll_fd.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!impl->wake_fd.valid() || !impl->epoll_fd.valid())
    return Status::IoError(std::string("cannot create the supervisor's event loop: ") + strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // the wake eventfd; children use serial * 2 (+1)
  epoll_ctl(impl->epoll_fd.get(), EPOLL_CTL_ADD, impl->wake_fd.get(), &ev);

  const auto& models = impl->options.config.models;
  for (size_t i = 0; i < models.size(); ++i) {
    if (!impl->index.emplace(models[i].name, i).second) continue;  // config validation rejects duplicates
    Backend b;
    b.model = models[i];
    b.status.name = models[i].name;
    b.status.kind = models[i].kind;
    b.status.configured_port = models[i].port;
    b.status.remote_url = models[i].url;
    b.status.log_file = (impl->options.log_dir / (FileSafe(models[i].name) + ".log")).string();
    b.status.since = std::chrono::system_clock::now();
    b.log = std::make_shared<process::LineLog>(impl->options.log_ring_lines, b.status.log_file);
    const size_t at = impl->backends.size();
    b.prober = std::make_unique<internal::Prober>([self, at](uint64_t generation, int status, std::string detail) {
      self->Post([self, at, generation, status, detail = std::move(detail)] {
        self->OnProbeResult(at, generation, status, detail);
      });
    });
    impl->logs.push_back(b.log);
    impl->snapshot.push_back(b.status);
    impl->backends.push_back(std::move(b));
  }
  impl->thread = std::thread([self] { self->Loop(); });
  return std::unique_ptr<Manager>(new Manager(std::move(impl)));
}

Manager::Manager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Manager::~Manager() {
  Impl* self = impl_.get();
  self->Post([self] {
    self->quitting = true;
    self->StopAllForQuit();
  });
  if (self->thread.joinable()) self->thread.join();
}

Status Manager::Start(const std::string& name) {
  auto it = impl_->index.find(name);
  if (it == impl_->index.end()) return Status::NotFound("no backend named '" + name + "' in the config");
  const size_t i = it->second;
  BackendStatus now;
  {
    std::lock_guard lock(impl_->status_mu);
    now = impl_->snapshot[i];
  }
  if (now.state == State::kStarting || now.state == State::kReady)
    return Status::FailedPrecondition("'" + name + "' is already " + ToString(now.state) +
                                      (now.port ? " on port " + std::to_string(now.port) : ""));
  if (now.state == State::kStopping)
    return Status::FailedPrecondition("'" + name + "' is stopping; use restart, or start it once it has stopped");
  Impl* self = impl_.get();
  self->Post([self, i] { self->DoStart(i); });
  return Status::Ok();
}

Status Manager::Stop(const std::string& name) {
  auto it = impl_->index.find(name);
  if (it == impl_->index.end()) return Status::NotFound("no backend named '" + name + "' in the config");
  const size_t i = it->second;
  State state;
  {
    std::lock_guard lock(impl_->status_mu);
    state = impl_->snapshot[i].state;
  }
  if (state == State::kStopped) return Status::FailedPrecondition("'" + name + "' is already stopped");
  Impl* self = impl_.get();
  self->Post([self, i] { self->DoStop(i, false); });
  return Status::Ok();
}

Status Manager::Restart(const std::string& name) {
  auto it = impl_->index.find(name);
  if (it == impl_->index.end()) return Status::NotFound("no backend named '" + name + "' in the config");
  const size_t i = it->second;
  Impl* self = impl_.get();
  self->Post([self, i] { self->DoStop(i, true); });
  return Status::Ok();
}

void Manager::StopAll() {
  Impl* self = impl_.get();
  self->Post([self] {
    for (size_t i = 0; i < self->backends.size(); ++i) self->DoStop(i, false);
  });
}

std::vector<BackendStatus> Manager::List() const {
  std::lock_guard lock(impl_->status_mu);
  return impl_->snapshot;
}

Result<BackendStatus> Manager::Get(const std::string& name) const {
  auto it = impl_->index.find(name);
  if (it == impl_->index.end()) return Status::NotFound("no backend named '" + name + "' in the config");
  std::lock_guard lock(impl_->status_mu);
  return impl_->snapshot[it->second];
}

std::vector<std::string> Manager::LogTail(const std::string& name, size_t lines) const {
  auto it = impl_->index.find(name);
  if (it == impl_->index.end()) return {};
  return impl_->logs[it->second]->Tail(lines);
}

Result<BackendStatus> Manager::WaitUntil(const std::string& name, const std::function<bool(const BackendStatus&)>& pred,
                                         std::chrono::milliseconds timeout) const {
  auto it = impl_->index.find(name);
  if (it == impl_->index.end()) return Status::NotFound("no backend named '" + name + "' in the config");
  std::unique_lock lock(impl_->status_mu);
  const auto& s = impl_->snapshot[it->second];
  if (!impl_->status_cv.wait_for(lock, timeout, [&] { return pred(s); }))
    return Status::Timeout("'" + name + "' is " + ToString(s.state) + " after " + std::to_string(timeout.count()) +
                           " ms" + (s.reason.empty() ? "" : ": " + s.reason));
  return s;
}

Subscription Manager::Subscribe(std::function<void(const Event&)> on_event, bool replay_state) {
  auto subs = impl_->subscribers;
  uint64_t id;
  {
    std::lock_guard lock(subs->mu);
    id = subs->next_id++;
    subs->fns[id] = std::make_shared<Subscribers::Fn>(std::move(on_event));
  }
  Impl* self = impl_.get();
  // Activated on the supervisor thread, so the replay comes before any live event.
  self->Post([self, subs, id, replay_state] {
    std::shared_ptr<Subscribers::Fn> fn;
    {
      std::lock_guard lock(subs->mu);
      auto it = subs->fns.find(id);
      if (it == subs->fns.end()) return;  // cancelled already
      fn = it->second;
    }
    std::lock_guard deliver(subs->deliver_mu);
    if (replay_state) {
      for (const auto& b : self->backends) {
        Event e;
        e.kind = Event::Kind::kState;
        e.seq = self->next_seq++;
        e.time = std::chrono::system_clock::now();
        e.backend = b.status.name;
        e.old_state = e.new_state = b.status.state;
        e.port = b.status.port;
        e.pid = b.status.pid;
        e.reason = b.status.reason;
        e.progress = b.status.progress;
        e.stage = b.status.stage;
        self->EmitTo(*fn, e);
      }
    }
    std::lock_guard lock(subs->mu);
    if (subs->fns.count(id)) subs->active.insert(id);
  });
  std::weak_ptr<Subscribers> weak = subs;
  return Subscription([weak, id] {
    if (auto s = weak.lock()) s->Cancel(id);
  });
}

const config::Config& Manager::config() const { return impl_->options.config; }

const std::vector<std::string>& Manager::startup_notes() const { return impl_->notes; }

}  // namespace llmdesk::manager
