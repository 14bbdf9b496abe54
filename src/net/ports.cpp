#include "net/ports.h"

#include <arpa/inet.h>

#include <cstring>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace llmdesk::net {
namespace {

constexpr const char* kListenState = "0A";

// /proc/net/tcp prints addresses as the raw in_addr bytes in hex (host order on little-endian).
std::string DecodeAddress(const std::string& hex) {
  char text[INET6_ADDRSTRLEN] = {};
  if (hex.size() == 8) {
    in_addr a{};
    a.s_addr = static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
    inet_ntop(AF_INET, &a, text, sizeof(text));
  } else if (hex.size() == 32) {
    in6_addr a{};
    for (int word = 0; word < 4; ++word) {
      uint32_t v = static_cast<uint32_t>(std::stoul(hex.substr(word * 8, 8), nullptr, 16));
      std::memcpy(&a.s6_addr[word * 4], &v, 4);
    }
    inet_ntop(AF_INET6, &a, text, sizeof(text));
  }
  return text;
}

void ReadTable(const char* path, std::vector<PortHolder>& out) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retrans, uid, timeout;
    unsigned long inode = 0;
    if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retrans >> uid >> timeout >> inode)) continue;
    if (state != kListenState) continue;
    auto colon = local.find(':');
    if (colon == std::string::npos) continue;
    PortHolder h;
    h.port = static_cast<int>(std::stoul(local.substr(colon + 1), nullptr, 16));
    h.address = DecodeAddress(local.substr(0, colon));
    h.inode = inode;
    out.push_back(std::move(h));
  }
}

// One pass over /proc/*/fd for all wanted inodes: cost is proportional to open fds on the machine.
void ResolveOwners(std::vector<PortHolder>& holders) {
  std::map<std::string, std::vector<PortHolder*>> wanted;
  for (auto& h : holders)
    if (h.inode) wanted["socket:[" + std::to_string(h.inode) + "]"].push_back(&h);
  if (wanted.empty()) return;
  std::error_code ec;
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = proc.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fd_ec;
    for (const auto& fd : std::filesystem::directory_iterator(proc.path() / "fd", fd_ec)) {
      std::error_code link_ec;
      auto target = std::filesystem::read_symlink(fd.path(), link_ec);
      if (link_ec) continue;
      auto it = wanted.find(target.string());
      if (it == wanted.end()) continue;
      pid_t pid = static_cast<pid_t>(std::stol(name));
      for (auto* h : it->second) {
        if (!h->pid) h->pid = pid, h->command = ProcessCommandLine(pid);
      }
    }
  }
}

}  // namespace

std::string ProcessCommandLine(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  for (auto& c : raw)
    if (c == '\0') c = ' ';
  return raw;
}

std::string PortHolder::Describe() const {
  if (pid) return "is held by PID " + std::to_string(*pid) + " (" + (command.empty() ? "?" : command) + ")";
  return "is held by a process llmdesk cannot see (socket inode " + std::to_string(inode) +
         ", probably another user's)";
}

std::string PortHolder::HowToFree() const {
  if (pid) return "stop it with: kill " + std::to_string(*pid);
  return "find it with: sudo ss -ltnp 'sport = :" + std::to_string(port) + "'";
}

std::vector<PortHolder> ListListeners() {
  std::vector<PortHolder> holders;
  ReadTable("/proc/net/tcp", holders);
  ReadTable("/proc/net/tcp6", holders);
  ResolveOwners(holders);
  return holders;
}

std::optional<PortHolder> FindPortHolder(int port) {
  std::vector<PortHolder> holders;
  ReadTable("/proc/net/tcp", holders);
  ReadTable("/proc/net/tcp6", holders);
  std::erase_if(holders, [port](const PortHolder& h) { return h.port != port; });
  if (holders.empty()) return std::nullopt;
  holders.resize(1);
  ResolveOwners(holders);
  return holders.front();
}

}  // namespace llmdesk::net
