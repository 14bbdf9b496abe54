// Capped, expiring session table (eviction rules in sessions.h). Ids are 128 random bits (hex) from the
// operating system's CSPRNG (platform/random.h).
#include "mcp/sessions.h"

#include <fmt/format.h>

#include "platform/random.h"

namespace llmdesk::mcp {
namespace {

std::string RandomId() {
  unsigned char bytes[16];
  platform::FillRandom(bytes, sizeof(bytes));
  std::string out;
  out.reserve(32);
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace

SessionTable::SessionTable(size_t capacity, std::chrono::milliseconds idle_ttl)
    : capacity_(capacity == 0 ? 1 : capacity), idle_ttl_(idle_ttl) {}

int64_t SessionTable::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

bool SessionTable::MakeRoomLocked(int64_t now_ms) {
  // The table's own reference is the only one unless a request is running with the session.
  auto in_use = [](const std::shared_ptr<Session>& s) { return s.use_count() > 1; };
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (now_ms - it->second->last_used_ms.load() > idle_ttl_.count() && !in_use(it->second)) {
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
  if (sessions_.size() < capacity_) return true;
  auto oldest_unused = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second->used.load() || in_use(it->second)) continue;
    if (oldest_unused == sessions_.end() ||
        it->second->last_used_ms.load() < oldest_unused->second->last_used_ms.load()) {
      oldest_unused = it;
    }
  }
  if (oldest_unused == sessions_.end()) return false;
  sessions_.erase(oldest_unused);
  return true;
}

Result<std::shared_ptr<Session>> SessionTable::Create(std::string protocol_version) {
  auto session = std::make_shared<Session>();
  session->id = RandomId();
  session->protocol_version = std::move(protocol_version);
  int64_t now = NowMs();
  session->last_used_ms = now;
  std::lock_guard lock(mu_);
  if (sessions_.size() >= capacity_ && !MakeRoomLocked(now)) {
    return Status::Unavailable(fmt::format(
        "all {} sessions are in use (none idle for {} s, none unused since initialize); retry later, or end "
        "sessions you no longer need with DELETE /mcp",
        capacity_, idle_ttl_.count() / 1000));
  }
  sessions_[session->id] = session;
  return session;
}

std::shared_ptr<Session> SessionTable::Find(const std::string& id) {
  int64_t now = NowMs();
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  // Idle too long, unless a request of it is still running (then it is not idle, just slow).
  if (now - it->second->last_used_ms.load() > idle_ttl_.count() && it->second.use_count() == 1) {
    sessions_.erase(it);
    return nullptr;
  }
  it->second->last_used_ms = now;
  it->second->used = true;
  return it->second;
}

bool SessionTable::Remove(const std::string& id) {
  std::lock_guard lock(mu_);
  return sessions_.erase(id) > 0;
}

size_t SessionTable::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace llmdesk::mcp
