// mcp/stdio_transport.h — MCP over stdio: one JSON-RPC message per line in on `in_fd`, one per line out
// on `out_fd`, nothing else on it (logs go to stderr).
//
// Threads: the calling thread reads; one worker thread (owned, joined before returning) runs requests in
// order. Replies to server->client questions and notifications/cancelled are handled by the reader
// itself, so they reach a request the worker is busy with.
//
// Back-pressure: lines wait for the worker in a queue of at most kStdioMaxQueuedLines lines and
// kStdioMaxQueuedBytes bytes (a single line up to the 4 MiB line limit always fits an empty queue). When
// it is full the reader stops reading until the worker takes a line, so a client that sends faster than
// requests finish blocks on its own pipe: nothing is refused or lost, and memory stays bounded. (Refusing
// with "busy" would break clients that pipe a file of requests in.) The one cost: a client that pipelines
// more than the queue holds *and then* answers a question the running request asked waits until that
// question times out (ServerOptions::call_timeout).
//
// Errors: a line longer than 4 MiB gets -32700 and is skipped. Returns when `in_fd` reaches end of file
// (after the queued requests were answered) or `stop` becomes true; IoError if polling stdin fails.
//
// Windows: the fds are the C runtime's (0 and 1); bytes go through their handles (ReadFile/WriteFile), never the
// runtime's text mode, so lines end in "\n" as on POSIX. A stop cancels the blocking read (mcp/stdio_io.h).
#pragma once

#include <atomic>
#include <cstddef>

#include "common/status.h"
#include "mcp/server.h"

namespace llmdesk::mcp {

inline constexpr size_t kStdioMaxLineBytes = 4 * 1024 * 1024;
inline constexpr size_t kStdioMaxQueuedLines = 128;
inline constexpr size_t kStdioMaxQueuedBytes = 8 * 1024 * 1024;

Status RunStdio(Server& server, int in_fd, int out_fd, const std::atomic<bool>* stop = nullptr);

}  // namespace llmdesk::mcp
