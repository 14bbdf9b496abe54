// mcp/http_transport.h — MCP over Streamable HTTP on net::HttpServer: POST /mcp (JSON or SSE replies), GET
// /mcp (405: no server-initiated stream), DELETE /mcp (ends the session). Checks Host/Origin (403), token (401),
// header size (431), body size (413), Accept (406), Content-Type (415), protocol header (400), session (404);
// a full session table answers initialize with 503. A call of a local built-in tool is answered on the IO
// thread; anything that may block (Server::MayBlock) runs on the listener's worker pool, and SSE replies hold a
// pool thread only while their request runs.
//
// Threads: HttpServer owns its net::HttpServer (IO threads, worker pool); Run() blocks until Stop() (callable
// from any thread or a signal watcher).
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
  size_t max_header_bytes = 16 * 1024;       // request line + headers; 431 beyond
  size_t max_streams = 256;                  // SSE replies open at once; 503 beyond
  int max_workers = 64;                      // threads for calls that may block (see Server::MayBlock)
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
