// net/ports.h on Linux: sock_diag netlink, /proc/net/tcp{,6}, /proc/*/fd and /proc/PID/cmdline.
#include "net/ports.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/unique_fd.h"

namespace llmdesk::net {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kListenState = "0A";

template <typename Int>
std::optional<Int> ParseWhole(std::string_view text, int base) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// /proc/net/tcp prints addresses as the raw in_addr bytes in hex, 32 bits at a time in host order.
std::optional<std::string> DecodeAddress(std::string_view hex) {
  char text[INET6_ADDRSTRLEN] = {};
  if (hex.size() == 8) {
    auto v = ParseWhole<uint32_t>(hex, 16);
    if (!v) return std::nullopt;
    in_addr a{};
    a.s_addr = *v;
    inet_ntop(AF_INET, &a, text, sizeof(text));
  } else if (hex.size() == 32) {
    in6_addr a{};
    for (size_t word = 0; word < 4; ++word) {
      auto v = ParseWhole<uint32_t>(hex.substr(word * 8, 8), 16);
      if (!v) return std::nullopt;
      std::memcpy(&a.s6_addr[word * 4], &*v, 4);
    }
    inet_ntop(AF_INET6, &a, text, sizeof(text));
  } else {
    return std::nullopt;
  }
  return std::string(text);
}

// The whitespace-separated fields of one line.
std::vector<std::string_view> Fields(std::string_view line, size_t max_fields) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (out.size() < max_fields) {
    i = line.find_first_not_of(" \t", i);
    if (i == std::string_view::npos) break;
    size_t end = std::min(line.find_first_of(" \t", i), line.size());
    out.push_back(line.substr(i, end - i));
    i = end;
  }
  return out;
}

std::optional<PortHolder> ParseRow(std::string_view line) {
  // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
  auto f = Fields(line, 10);
  if (f.size() < 10 || f[3] != kListenState) return std::nullopt;
  size_t colon = f[1].find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto port = ParseWhole<unsigned>(f[1].substr(colon + 1), 16);
  auto address = DecodeAddress(f[1].substr(0, colon));
  auto inode = ParseWhole<unsigned long>(f[9], 10);
  if (!port || *port > 65535 || !address || !inode) return std::nullopt;
  return PortHolder{.port = static_cast<int>(*port), .address = std::move(*address), .inode = *inode};
}

void ReadTable(const char* path, std::vector<PortHolder>& out) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rows = ParseTcpTable(text);
  out.insert(out.end(), std::make_move_iterator(rows.begin()), std::make_move_iterator(rows.end()));
}

// Listening TCP sockets from the kernel's sock_diag interface. Asking for the LISTEN state only makes the
// kernel walk its listening table alone, so the cost does not grow with the machine's established and
// TIME_WAIT connections as a read of /proc/net/tcp does (thousands of rows after a load test cost tens
// of ms on every engine start). nullopt when netlink is not available: then /proc is read.
std::optional<std::vector<PortHolder>> DiagListeners() {
  UniqueFd fd(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd.valid()) return std::nullopt;
  std::vector<PortHolder> out;
  for (const int family : {AF_INET, AF_INET6}) {
    struct {
      nlmsghdr header;
      inet_diag_req_v2 request;
    } message{};
    message.header.nlmsg_len = sizeof(message);
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.request.sdiag_family = static_cast<uint8_t>(family);
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = 1u << TCP_LISTEN;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd.get(), &message, sizeof(message), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0)
      return std::nullopt;
    for (bool done = false; !done;) {
      alignas(nlmsghdr) char buffer[32768];
      ssize_t got = recv(fd.get(), buffer, sizeof(buffer), 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return std::nullopt;
      int left = static_cast<int>(got);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type == NLMSG_DONE) {
          done = true;
          break;
        }
        if (h->nlmsg_type == NLMSG_ERROR) return std::nullopt;
        if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) continue;
        const auto* d = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
        char text[INET6_ADDRSTRLEN] = {};
        if (!inet_ntop(d->idiag_family, d->id.idiag_src, text, sizeof(text))) continue;
        out.push_back(PortHolder{.port = ntohs(d->id.idiag_sport), .address = text, .inode = d->idiag_inode});
      }
    }
  }
  return out;
}

// Every listening TCP socket, without owners: from sock_diag, else from /proc/net/tcp{,6}.
std::vector<PortHolder> Listeners() {
  if (auto diag = DiagListeners()) return std::move(*diag);
  std::vector<PortHolder> holders;
  ReadTable("/proc/net/tcp", holders);
  ReadTable("/proc/net/tcp6", holders);
  return holders;
}

// One pass over /proc/*/fd for all wanted inodes: cost is proportional to open fds on the machine.
// Processes come and go during the walk: every step uses the error_code overloads, and an entry that
// vanished is simply skipped (a range-for would throw from operator++).
void ResolveOwners(std::vector<PortHolder>& holders) {
  std::map<std::string, std::vector<PortHolder*>> wanted;
  for (auto& h : holders)
    if (h.inode) wanted["socket:[" + std::to_string(h.inode) + "]"].push_back(&h);
  if (wanted.empty()) return;
  std::error_code ec;
  for (fs::directory_iterator proc("/proc", ec), end; !ec && proc != end; proc.increment(ec)) {
    const std::string name = proc->path().filename().string();
    auto pid = ParseWhole<pid_t>(name, 10);
    if (!pid) continue;
    std::error_code fd_ec;
    for (fs::directory_iterator fd(proc->path() / "fd", fd_ec); !fd_ec && fd != end; fd.increment(fd_ec)) {
      std::error_code link_ec;
      auto target = fs::read_symlink(fd->path(), link_ec);
      if (link_ec) continue;
      auto it = wanted.find(target.string());
      if (it == wanted.end()) continue;
      for (auto* h : it->second) {
        if (!h->pid) h->pid = *pid, h->command = ProcessCommandLine(*pid);
      }
    }
  }
}

}  // namespace

std::vector<PortHolder> ParseTcpTable(std::string_view text) {
  std::vector<PortHolder> out;
  size_t start = text.find('\n');  // the first line is the header
  while (start != std::string_view::npos && start < text.size()) {
    size_t end = std::min(text.find('\n', start + 1), text.size());
    if (auto row = ParseRow(text.substr(start + 1, end - start - 1))) out.push_back(std::move(*row));
    start = end;
  }
  return out;
}

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
  std::vector<PortHolder> holders = Listeners();
  ResolveOwners(holders);
  return holders;
}

std::optional<PortHolder> FindPortHolder(int port) {
  std::vector<PortHolder> holders = Listeners();
  std::erase_if(holders, [port](const PortHolder& h) { return h.port != port; });
  if (holders.empty()) return std::nullopt;
  holders.resize(1);
  ResolveOwners(holders);
  return holders.front();
}

}  // namespace llmdesk::net
