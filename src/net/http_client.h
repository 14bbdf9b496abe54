// net/http_client.h — the one HTTP client: buffered or streamed requests and responses over libcurl.
//
// libcurl is dlopen()ed on the first request (curl_library.h), so a process that never sends one never
// maps it; when it is not installed every request fails with FailedPrecondition naming the Debian
// package. Only http:// and https:// URLs; no redirects unless asked; no `Expect: 100-continue` wait;
// TCP_NODELAY; no signals (NOSIGNAL).
//
// Threads: HttpClient is thread-safe; any number of requests may run at once, each on its caller's
// thread (the callbacks run there too). Connections are reused between requests of one client (a
// libcurl share handle with connection and DNS caches). A CancelToken ends a transfer from any thread at
// once (the transfer's poll is woken up), also while it waits for a connection or the first byte.
//
// Errors (each message names the URL): Unavailable — refused, DNS, reset, nothing answered;
// Timeout — connect/total/idle timeout; Cancelled — the token or `cancelled` said so; IoError — the
// response is larger than max_response_bytes; InvalidArgument — a URL that is not http(s);
// FailedPrecondition — libcurl missing. HTTP error statuses (4xx/5xx) are responses, not errors.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/cancel.h"
#include "common/status.h"

namespace llmdesk::net {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;                 // e.g. {"Authorization", "Bearer x"}, {"Accept", "text/event-stream"}
  std::string body;                   // sent as is (Content-Length) unless body_source is set
  // A streamed request body (chunked): fills up to `capacity` bytes of `buffer` and returns how many;
  // 0 ends the body. Runs on the transfer's thread and may block (a blocked source delays Cancel).
  std::function<size_t(char* buffer, size_t capacity)> body_source;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{0};       // the whole transfer; 0 = none
  std::chrono::milliseconds idle_timeout{0};  // no byte in either direction for this long; 0 = none
  size_t max_response_bytes = 16 * 1024 * 1024;  // Send() only
  bool follow_redirects = false;               // at most 3, http(s) only
  const CancelToken* cancel = nullptr;         // common/cancel.h: Cancel() wakes the transfer at once
  std::function<bool()> cancelled;             // polled every 50 ms, for callers with a flag to poll
};

struct HttpResponse {
  int status = 0;
  HeaderList headers;
  std::string body;
  // Case-insensitive; "" when absent.
  const std::string& Header(std::string_view name) const;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The whole response in memory (at most max_response_bytes of body).
  Result<HttpResponse> Send(const HttpRequest& request);

  // A streamed response: on_headers(status, headers) once the final headers are in (return false to
  // stop), then on_data(chunk) for each piece of the body as it arrives (return false to stop).
  // Stopping through a callback is Ok. Ok also when the server ends the body.
  using HeadersCallback = std::function<bool(int status, const HeaderList& headers)>;
  using DataCallback = std::function<bool(std::string_view chunk)>;
  Status Stream(const HttpRequest& request, const HeadersCallback& on_headers, const DataCallback& on_data);

  struct Shared;

 private:
  std::unique_ptr<Shared> shared_;
};

}  // namespace llmdesk::net
