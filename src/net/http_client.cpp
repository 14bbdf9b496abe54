// net::HttpClient over libcurl (loaded on first use). Each transfer runs on its caller's thread with a multi
// handle that it alone uses meanwhile (from a small idle pool), so curl_multi_poll can be woken by
// curl_multi_wakeup from CancelToken::Cancel().
#include "net/http_client.h"

#include <strings.h>

#include <array>
#include <mutex>
#include <vector>

#include "net/curl_library.h"
#include "net/http_client_pool.h"

namespace llmdesk::net {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollSlice = std::chrono::milliseconds(50);  // how often `cancelled` and idle are checked

struct Transfer {
  const HttpRequest* request = nullptr;
  const HttpClient::HeadersCallback* on_headers = nullptr;
  const HttpClient::DataCallback* on_data = nullptr;
  std::string* buffered = nullptr;   // Send(): the body goes here
  size_t max_bytes = 0;
  int status = 0;
  HeaderList headers;
  bool headers_done = false;
  bool stopped_by_caller = false;
  bool too_large = false;
  Clock::time_point last_activity = Clock::now();
};

bool FinishHeaders(Transfer& t) {
  if (t.headers_done) return true;
  t.headers_done = true;
  if (t.on_headers && !(*t.on_headers)(t.status, t.headers)) {
    t.stopped_by_caller = true;
    return false;
  }
  return true;
}

size_t OnHeaderLine(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->last_activity = Clock::now();
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {  // a status line: a new response (after 1xx or a redirect)
    t->headers.clear();
    size_t sp = line.find(' ');
    t->status = sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
    return n;
  }
  if (line.empty()) {
    bool final = t->status >= 200 && !(t->request->follow_redirects && t->status >= 300 && t->status < 400);
    if (final && !FinishHeaders(*t)) return 0;
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  t->headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  return n;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->last_activity = Clock::now();
  if (!FinishHeaders(*t)) return 0;
  if (t->buffered) {
    if (t->buffered->size() + n > t->max_bytes) {
      t->too_large = true;
      return 0;
    }
    t->buffered->append(data, n);
    return n;
  }
  if (t->on_data && !(*t->on_data)(std::string_view(data, n))) {
    t->stopped_by_caller = true;
    return 0;
  }
  return n;
}

size_t OnReadBody(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->last_activity = Clock::now();
  return t->request->body_source(buffer, size * count);
}

}  // namespace

const std::string& HttpResponse::Header(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  return kEmpty;
}

// ---- HttpClient ----------------------------------------------------------------------------------------
// The share handle (DNS cache), created with the first request, and the idle multi handles. Connections
// are not shared through the share handle: libcurl does not support one connection cache used by
// concurrent threads (CURLSHOPT_SHARE(3); it showed here as a rare tools/call that never got its answer).
// Each multi handle keeps its own cache instead, and is used by one transfer at a time, so a connection
// is never in two transfers while keep-alive still saves a connect per request.
struct HttpClient::Shared {
  std::once_flag once;
  Status loaded;
  const CurlLibrary* lib = nullptr;
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Shared*>(user)->locks[static_cast<size_t>(data) % CURL_LOCK_DATA_LAST].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Shared*>(user)->locks[static_cast<size_t>(data) % CURL_LOCK_DATA_LAST].unlock();
  }

  Status Init() {
    std::call_once(once, [this] {
      auto library = CurlLibrary::Get();
      if (!library.ok()) return void(loaded = library.status());
      lib = *library;
      share = lib->share_init();
      if (!share) return void(loaded = Status::Internal("libcurl could not create a share handle"));
      lib->share_setopt(share, CURLSHOPT_LOCKFUNC, &Shared::Lock);
      lib->share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Shared::Unlock);
      lib->share_setopt(share, CURLSHOPT_USERDATA, this);
      lib->share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    });
    return loaded;
  }

  ~Shared() {
    for (CURLM* m : idle_multis) lib->multi_cleanup(m);
    if (share) lib->share_cleanup(share);
  }

  static constexpr size_t kMaxIdleMultis = kMaxIdleTransfers;  // the bound is documented in http_client_pool.h
  std::mutex idle_mu;
  std::vector<CURLM*> idle_multis;

  CURLM* TakeMulti() {
    {
      std::lock_guard lock(idle_mu);
      if (!idle_multis.empty()) {
        CURLM* m = idle_multis.back();
        idle_multis.pop_back();
        return m;
      }
    }
    CURLM* m = lib->multi_init();
    // One transfer at a time runs on a handle: one cached connection is all it can reuse (and all it keeps).
    if (m) lib->multi_setopt(m, CURLMOPT_MAXCONNECTS, 1L);
    return m;
  }
  // Only with no easy handle attached (Run removes its own before the multi comes back).
  void GiveBackMulti(CURLM* m) {
    if (!m) return;
    {
      std::lock_guard lock(idle_mu);
      if (idle_multis.size() < kMaxIdleMultis) return idle_multis.push_back(m);
    }
    lib->multi_cleanup(m);
  }

  Status Run(const HttpRequest& req, Transfer& t);
};

HttpClient::HttpClient() : shared_(std::make_unique<Shared>()) {}
HttpClient::~HttpClient() = default;

Status HttpClient::Shared::Run(const HttpRequest& req, Transfer& t) {
  if (Status s = Init(); !s.ok()) return s;
  const std::string& url = req.url;
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    return Status::InvalidArgument("'" + url + "' is not an http:// or https:// URL");
  if ((req.cancel && req.cancel->cancelled()) || (req.cancelled && req.cancelled()))
    return Status::Cancelled("the request to " + url + " was cancelled");

  std::unique_ptr<CURL, decltype(lib->easy_cleanup)> easy(lib->easy_init(), lib->easy_cleanup);
  auto give_back = [this](CURLM* m) { GiveBackMulti(m); };
  std::unique_ptr<CURLM, decltype(give_back)> multi(TakeMulti(), give_back);
  if (!easy || !multi) return Status::Internal("libcurl could not create a handle");
  CURL* h = easy.get();
  curl_slist* header_list = lib->slist_append(nullptr, "Expect:");  // never wait for 100-continue
  for (const auto& [name, value] : req.headers) header_list = lib->slist_append(header_list, (name + ": " + value).c_str());
  std::unique_ptr<curl_slist, decltype(lib->slist_free_all)> headers_owner(header_list, lib->slist_free_all);
  char error_buffer[CURL_ERROR_SIZE] = {};

  lib->easy_setopt(h, CURLOPT_URL, url.c_str());
  lib->easy_setopt(h, CURLOPT_SHARE, share);
  lib->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  lib->easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  lib->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  lib->easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  lib->easy_setopt(h, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  lib->easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
  lib->easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  lib->easy_setopt(h, CURLOPT_USERAGENT, "llmdesk/" LLMDESK_VERSION);
  lib->easy_setopt(h, CURLOPT_HTTPHEADER, header_list);
  lib->easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  lib->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::max<int64_t>(1, req.connect_timeout.count())));
  if (req.timeout.count() > 0) lib->easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  lib->easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeaderLine);
  lib->easy_setopt(h, CURLOPT_HEADERDATA, &t);
  lib->easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  lib->easy_setopt(h, CURLOPT_WRITEDATA, &t);
  if (req.body_source) {
    lib->easy_setopt(h, CURLOPT_POST, 1L);
    lib->easy_setopt(h, CURLOPT_READFUNCTION, OnReadBody);
    lib->easy_setopt(h, CURLOPT_READDATA, &t);
  } else if (!req.body.empty() || req.method == "POST") {
    lib->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    lib->easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
  }
  if (req.method == "HEAD") lib->easy_setopt(h, CURLOPT_NOBODY, 1L);
  bool sends_body = req.body_source || !req.body.empty() || req.method == "POST";
  bool native_method = (req.method == "GET" && !sends_body) || req.method == "HEAD" || req.method == "POST";
  if (!native_method) lib->easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());

  lib->multi_add_handle(multi.get(), h);
  CURLM* m = multi.get();
  // Declared after `multi`, so it is forgotten before the handle goes away.
  CancelWatch wake_on_cancel(req.cancel, [this, m] { lib->multi_wakeup(m); });
  bool cancelled = req.cancel && req.cancel->cancelled();
  bool idle_expired = false;
  t.last_activity = Clock::now();
  int running = 1;
  while (!cancelled) {
    if (lib->multi_perform(m, &running) != CURLM_OK || running == 0) break;
    if ((req.cancel && req.cancel->cancelled()) || (req.cancelled && req.cancelled())) {
      cancelled = true;
      break;
    }
    auto wait = kPollSlice;
    if (req.idle_timeout.count() > 0) {
      auto idle_left = req.idle_timeout - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t.last_activity);
      if (idle_left.count() <= 0) {
        idle_expired = true;
        break;
      }
      wait = std::min(wait, idle_left);
    }
    // Without a `cancelled` poller, sleep until there is socket activity or a wakeup (Cancel).
    int ms = req.cancelled || req.idle_timeout.count() > 0 ? static_cast<int>(wait.count()) : 1000;
    lib->multi_poll(m, nullptr, 0, ms, nullptr);
  }

  CURLcode rc = CURLE_OK;
  int left = 0;
  while (CURLMsg* msg = lib->multi_info_read(m, &left))
    if (msg->msg == CURLMSG_DONE) rc = msg->data.result;
  lib->multi_remove_handle(m, h);

  if (cancelled) return Status::Cancelled("the request to " + url + " was cancelled");
  if (idle_expired)
    return Status::Timeout("no data from " + url + " for " + std::to_string(req.idle_timeout.count()) + " ms");
  if (t.stopped_by_caller) return Status::Ok();
  if (t.too_large)
    return Status::IoError("the response from " + url + " is larger than " + std::to_string(t.max_bytes) + " bytes");
  if (running != 0 && rc == CURLE_OK) return Status::Internal("libcurl's transfer loop failed for " + url);
  if (rc == CURLE_OK) return Status::Ok();
  std::string detail = error_buffer[0] ? error_buffer : lib->easy_strerror(rc);
  if (rc == CURLE_OPERATION_TIMEDOUT) return Status::Timeout("no complete answer from " + url + " in time: " + detail);
  if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT)
    return Status::InvalidArgument("cannot request '" + url + "': " + detail);
  return Status::Unavailable("request to " + url + " failed: " + detail);
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  HttpResponse response;
  Transfer t;
  t.request = &request;
  t.buffered = &response.body;
  t.max_bytes = request.max_response_bytes;
  Status s = shared_->Run(request, t);
  if (!s.ok()) return s;
  response.status = t.status;
  response.headers = std::move(t.headers);
  return response;
}

Status HttpClient::Stream(const HttpRequest& request, const HeadersCallback& on_headers, const DataCallback& on_data) {
  Transfer t;
  t.request = &request;
  t.on_headers = &on_headers;
  t.on_data = &on_data;
  return shared_->Run(request, t);
}

}  // namespace llmdesk::net
