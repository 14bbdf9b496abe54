// net/listen_options.h — internal to net: the platform's socket option for llmdesk's own listeners (set
// before bind by HttpServer::Bind).
//   POSIX: SO_REUSEADDR — a restart binds at once over connections left in TIME_WAIT (never SO_REUSEPORT,
//          which would let a second process listen on the same port).
//   Win32: SO_EXCLUSIVEADDRUSE — Windows' SO_REUSEADDR would let another process bind our port and steal
//          connections; TIME_WAIT does not block a Windows bind in the first place.
// Also: whatever a process must do once before it uses sockets (WSAStartup on Windows; nothing on POSIX).
#pragma once

namespace llmdesk::net {

struct SocketOption {
  int level;
  int name;
};

SocketOption ListenerAddressOption();

// Idempotent and thread-safe; Asio's sockets do it themselves, raw sockets call it first.
void EnsureSocketsReady();

}  // namespace llmdesk::net
