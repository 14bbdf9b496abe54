// net/curl_library.cpp — libcurl loaded at run time (shared_library.h: dlopen on POSIX, LoadLibrary on
// Windows); see curl_library.h for why.
#include "net/curl_library.h"

#include <mutex>
#include <string>

#include "net/shared_library.h"

namespace llmdesk::net {
namespace {

// Resolves `name` into `slot` (typed as the function's pointer type from <curl/curl.h>).
template <typename Fn>
Status Resolve(void* handle, const char* name, Fn& slot) {
  std::string why;
  void* symbol = FindSymbol(handle, name, why);
  if (symbol == nullptr) {
    return Status::FailedPrecondition(std::string(CurlLibraryMissingHint()) + " (" + CurlLibraryName() + " has no " +
                                      name + (why.empty() ? std::string() : ": " + why) + ")");
  }
  slot = reinterpret_cast<Fn>(symbol);
  return Status::Ok();
}

}  // namespace

CurlLibrary::~CurlLibrary() { CloseSharedLibrary(handle_); }

Result<std::unique_ptr<CurlLibrary>> CurlLibrary::Load(const char* soname) {
  std::string why;
  void* handle = OpenSharedLibrary(soname, why);
  if (handle == nullptr) return Status::FailedPrecondition(std::string(CurlLibraryMissingHint()) + " (" + why + ")");
  std::unique_ptr<CurlLibrary> lib(new CurlLibrary(handle));
  for (Status s : {Resolve(handle, "curl_global_init", lib->global_init),
                   Resolve(handle, "curl_easy_init", lib->easy_init),
                   Resolve(handle, "curl_easy_setopt", lib->easy_setopt),
                   Resolve(handle, "curl_easy_perform", lib->easy_perform),
                   Resolve(handle, "curl_easy_getinfo", lib->easy_getinfo),
                   Resolve(handle, "curl_easy_strerror", lib->easy_strerror),
                   Resolve(handle, "curl_easy_cleanup", lib->easy_cleanup),
                   Resolve(handle, "curl_multi_init", lib->multi_init),
                   Resolve(handle, "curl_multi_setopt", lib->multi_setopt),
                   Resolve(handle, "curl_multi_add_handle", lib->multi_add_handle),
                   Resolve(handle, "curl_multi_remove_handle", lib->multi_remove_handle),
                   Resolve(handle, "curl_multi_perform", lib->multi_perform),
                   Resolve(handle, "curl_multi_poll", lib->multi_poll),
                   Resolve(handle, "curl_multi_wakeup", lib->multi_wakeup),
                   Resolve(handle, "curl_multi_info_read", lib->multi_info_read),
                   Resolve(handle, "curl_multi_cleanup", lib->multi_cleanup),
                   Resolve(handle, "curl_share_init", lib->share_init),
                   Resolve(handle, "curl_share_setopt", lib->share_setopt),
                   Resolve(handle, "curl_share_cleanup", lib->share_cleanup),
                   Resolve(handle, "curl_slist_append", lib->slist_append),
                   Resolve(handle, "curl_slist_free_all", lib->slist_free_all)}) {
    if (!s.ok()) return s;
  }
  return lib;
}

Result<const CurlLibrary*> CurlLibrary::Get() {
  // Deliberately never unloaded (as a linked libcurl would not be): worker threads may still be inside
  // libcurl while static destructors run at exit, and libcurl does not support re-initialisation after
  // dlclose. Hence a leaked pointer rather than a static object with a destructor.
  static std::once_flag once;
  static const CurlLibrary* library = nullptr;
  static Status* failure = nullptr;
  std::call_once(once, [] {
    auto loaded = Load(CurlLibraryName());
    if (!loaded.ok()) {
      failure = new Status(loaded.status());
      return;
    }
    // curl_global_init is not thread-safe on every libcurl build; call_once makes it run exactly once.
    if (CURLcode rc = (*loaded)->global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
      failure = new Status(Status::Internal(std::string("libcurl failed to initialise: ") +
                                            (*loaded)->easy_strerror(rc)));
      return;
    }
    library = loaded->release();
  });
  if (failure != nullptr) return *failure;
  return library;
}

}  // namespace llmdesk::net
