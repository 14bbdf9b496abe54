// Socket options for the remaining cpp-httplib users (see http_policy.h). Nothing in net/ serves or
// requests over cpp-httplib any more.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <httplib.h>

#include "net/http_policy.h"

namespace llmdesk::net {

void ConfigureServer(httplib::Server& server) {
  server.set_tcp_nodelay(true);
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
}

void ConfigureClient(httplib::Client& client) { client.set_tcp_nodelay(true); }

}  // namespace llmdesk::net
