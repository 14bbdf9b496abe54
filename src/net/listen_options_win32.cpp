#include <winsock2.h>

#include <mutex>

#include "net/listen_options.h"

namespace llmdesk::net {

SocketOption ListenerAddressOption() { return {SOL_SOCKET, SO_EXCLUSIVEADDRUSE}; }

void EnsureSocketsReady() {
  // Once per process, never undone: WSACleanup at exit would race threads still closing sockets.
  static std::once_flag once;
  std::call_once(once, [] {
    WSADATA data;
    WSAStartup(MAKEWORD(2, 2), &data);
  });
}

}  // namespace llmdesk::net
