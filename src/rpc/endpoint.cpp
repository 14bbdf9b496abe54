// host:port addresses of RPC workers: one bounded pass, no regex.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "rpc/rpc.h"

namespace llmdesk::rpc {
namespace {

constexpr size_t kMaxHostBytes = 253;  // the longest DNS name

bool IsHostChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; }

}  // namespace

std::string Endpoint::ToString() const { return host + ":" + std::to_string(port); }

Result<Endpoint> ParseEndpoint(std::string_view text) {
  const std::string example = "expected host:port, e.g. 192.168.1.20:50052";
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
    return Status::InvalidArgument(example);
  std::string_view host = text.substr(0, colon), port_text = text.substr(colon + 1);
  Endpoint e;
  if (host.front() == '[' || host.find(':') != std::string_view::npos)
    return Status::InvalidArgument("llama.cpp's RPC connects over IPv4 only: give an IPv4 address or a host name, "
                                   "e.g. 192.168.1.20:50052");
  if (host.size() > kMaxHostBytes || !std::all_of(host.begin(), host.end(), IsHostChar))
    return Status::InvalidArgument(example + " (the host is an IPv4 address or a name: letters, digits, '.', '-')");
  int port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535)
    return Status::InvalidArgument(example + " (the port is a number 1-65535)");
  e.host = std::string(host);
  e.port = port;
  return e;
}

const char* ToString(WorkerState state) {
  switch (state) {
    case WorkerState::kUnknown: return "unknown";
    case WorkerState::kAnswering: return "answering";
    case WorkerState::kBusy: return "busy";
    case WorkerState::kUnreachable: return "unreachable";
    case WorkerState::kIncompatible: return "incompatible";
  }
  return "unknown";
}

}  // namespace llmdesk::rpc
