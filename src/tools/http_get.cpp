// tools/http_get.cpp — the one HTTP client call the tools need (GET, JSON APIs), over libcurl.
//
// libcurl is loaded on the first call (CurlLibrary), so a server that never fetches anything never maps
// it; without libcurl installed the call fails with FailedPrecondition naming the package to install.
//
// Each call uses its own easy handle, so concurrent calls share nothing. Every transfer is bounded:
// a total timeout (the smaller of the tool's timeout and the call's deadline), a cap on the body size,
// only http/https, and an abort as soon as the caller cancels (checked from libcurl's progress callback).
#include <algorithm>
#include <memory>

#include "tools/builtin.h"
#include "tools/curl_library.h"

namespace llmdesk::tools {
namespace {

struct Transfer {
  std::string body;
  size_t max_body = 0;
  bool too_large = false;
  const CallContext* ctx = nullptr;
};

size_t OnData(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->body.size() + n > t->max_body) {
    t->too_large = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  t->body.append(data, n);
  return n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->ctx->cancelled && t->ctx->cancelled() ? 1 : 0;  // non-zero aborts with CURLE_ABORTED_BY_CALLBACK
}

}  // namespace

Result<HttpResponse> HttpGet(const std::string& url, std::chrono::milliseconds timeout, const CallContext& ctx,
                             size_t max_body) {
  using namespace std::chrono;
  if (ctx.deadline != steady_clock::time_point::max()) {
    auto left = duration_cast<milliseconds>(ctx.deadline - steady_clock::now());
    if (left <= milliseconds(0)) return Status::Timeout("the call's time limit ran out before the request to " + url);
    timeout = std::min(timeout, left);
  }
  timeout = std::max(timeout, milliseconds(1));
  if (ctx.cancelled && ctx.cancelled()) return Status::Cancelled("the call was cancelled");

  auto library = CurlLibrary::Get();
  if (!library.ok()) return library.status();
  const CurlLibrary& lib = **library;
  std::unique_ptr<CURL, decltype(lib.easy_cleanup)> curl(lib.easy_init(), lib.easy_cleanup);
  if (!curl) return Status::Internal("libcurl could not create a handle");
  Transfer transfer;
  transfer.max_body = max_body;
  transfer.ctx = &ctx;
  char error_buffer[CURL_ERROR_SIZE] = {};
  CURL* h = curl.get();
  lib.easy_setopt(h, CURLOPT_URL, url.c_str());
  lib.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: we run on worker threads
  lib.easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  lib.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  lib.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  lib.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  lib.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  lib.easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
  lib.easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl can decode; the cap applies after
  lib.easy_setopt(h, CURLOPT_USERAGENT, "llmdesk/" LLMDESK_VERSION);
  lib.easy_setopt(h, CURLOPT_WRITEFUNCTION, OnData);
  lib.easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  lib.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
  lib.easy_setopt(h, CURLOPT_XFERINFODATA, &transfer);
  lib.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  lib.easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);

  CURLcode rc = lib.easy_perform(h);
  if (rc != CURLE_OK) {
    std::string detail = error_buffer[0] ? error_buffer : lib.easy_strerror(rc);
    if (transfer.too_large)
      return Status::IoError("the response from " + url + " is larger than " + std::to_string(max_body) + " bytes");
    if (rc == CURLE_ABORTED_BY_CALLBACK) return Status::Cancelled("the call was cancelled");
    if (rc == CURLE_OPERATION_TIMEDOUT)
      return Status::Timeout("no answer from " + url + " within " + std::to_string(timeout.count()) + " ms");
    return Status::Unavailable("request to " + url + " failed: " + detail);
  }
  HttpResponse response;
  lib.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  response.body = std::move(transfer.body);
  return response;
}

}  // namespace llmdesk::tools
