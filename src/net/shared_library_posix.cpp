#include <dlfcn.h>

#include "net/shared_library.h"

namespace llmdesk::net {

void* OpenSharedLibrary(const char* name, std::string& why) {
  // RTLD_LOCAL: libcurl's symbols (and its dependencies') stay out of the global namespace.
  void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    why = error ? error : name;
  }
  return handle;
}

void* FindSymbol(void* library, const char* name, std::string& why) {
  dlerror();  // clear any earlier error so the check below is about this lookup
  void* symbol = dlsym(library, name);
  if (symbol == nullptr) {
    const char* error = dlerror();
    why = error ? error : "";
  }
  return symbol;
}

void CloseSharedLibrary(void* library) { dlclose(library); }

const char* CurlLibraryName() { return "libcurl.so.4"; }

const char* CurlLibraryMissingHint() {
  return "libcurl (Debian package libcurl4) is missing: install it with `apt-get install libcurl4` to use the tools "
         "that make HTTP requests";
}

}  // namespace llmdesk::net
