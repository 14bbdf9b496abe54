// net/curl_library.h — libcurl, loaded at run time on first use (internal to net: used by HttpClient).
//
// Why: the tool server needs HTTP only for get_weather, yet libcurl and the ~22 libraries it pulls in (gnutls, krb5, ldap,
// ssh2, nghttp2, ...) cost the idle tool server about 4 MB of RSS when linked. So nothing links
// libcurl; the first HttpClient request dlopen()s libcurl.so.4 and resolves the handful of functions it calls.
// <curl/curl.h> is still used for types and constants (the ABI of libcurl.so.4 is stable).
//
// Threads: Get() may be called from any thread; loading and curl_global_init run exactly once
// (std::call_once). The entry points are then safe to call concurrently under libcurl's own rules
// (one easy handle per thread).
#pragma once

#include <curl/curl.h>

#include <memory>

#include "common/status.h"

namespace llmdesk::net {

class CurlLibrary {
 public:
  // The process-wide library, loaded and globally initialised on the first call. A failure (libcurl not
  // installed, or a symbol missing) is remembered and returned on every call as FailedPrecondition with
  // a message naming the Debian package to install.
  static Result<const CurlLibrary*> Get();

  // Loads `soname` and resolves every entry point below; does not call curl_global_init.
  static Result<std::unique_ptr<CurlLibrary>> Load(const char* soname);

  CurlLibrary(const CurlLibrary&) = delete;
  CurlLibrary& operator=(const CurlLibrary&) = delete;
  ~CurlLibrary();  // closes the library (shared_library.h)

  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_multi_init) multi_init = nullptr;
  decltype(&::curl_multi_setopt) multi_setopt = nullptr;
  decltype(&::curl_multi_add_handle) multi_add_handle = nullptr;
  decltype(&::curl_multi_remove_handle) multi_remove_handle = nullptr;
  decltype(&::curl_multi_perform) multi_perform = nullptr;
  decltype(&::curl_multi_poll) multi_poll = nullptr;
  decltype(&::curl_multi_wakeup) multi_wakeup = nullptr;
  decltype(&::curl_multi_info_read) multi_info_read = nullptr;
  decltype(&::curl_multi_cleanup) multi_cleanup = nullptr;
  decltype(&::curl_share_init) share_init = nullptr;
  decltype(&::curl_share_setopt) share_setopt = nullptr;
  decltype(&::curl_share_cleanup) share_cleanup = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;

 private:
  explicit CurlLibrary(void* handle) : handle_(handle) {}
  void* handle_;  // from OpenSharedLibrary; owned
};

}  // namespace llmdesk::net
