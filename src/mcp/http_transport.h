// mcp/http_transport.h — MCP over Streamable HTTP on cpp-httplib: POST /mcp (JSON or SSE replies), GET /mcp
// (405: no server-initiated stream), DELETE /mcp (ends the session). Checks Host/Origin (403), token (401),
// Accept (406), Content-Type (415), body size (413), protocol header (400), session (404); a full session
// table answers initialize with 503.
//
// Threads: HttpServer owns httplib's thread pool; Run() blocks until Stop() (callable from any thread or a
// signal watcher).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "mcp/server.h"

namespace llmdesk::mcp {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8763;                           // 0 = any free port (see HttpServer::port())
  std::string token;                         // bearer token; empty = none (loopback trust only)
  size_t max_body_bytes = 4 * 1024 * 1024;   // larger bodies get 413
  int threads = 16;                          // httplib holds one per open keep-alive connection
};

class HttpServer {
 public:
  HttpServer(Server& server, HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds (Unavailable with the reason if the port is taken). After Bind(), port() is the real port.
  Status Bind();
  // Serves until Stop(). Call Bind() first.
  Status Run();
  void Stop();
  int port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace llmdesk::mcp
