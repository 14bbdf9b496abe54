#include <sys/socket.h>

#include "net/listen_options.h"

namespace llmdesk::net {

SocketOption ListenerAddressOption() { return {SOL_SOCKET, SO_REUSEADDR}; }

void EnsureSocketsReady() {}

}  // namespace llmdesk::net
