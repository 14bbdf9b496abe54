// net/shared_library.h — internal to net: the platform's way to load a library at run time, for CurlLibrary.
//   POSIX: dlopen/dlsym/dlclose, libcurl is "libcurl.so.4" (Debian package libcurl4).
//   Win32: LoadLibraryW/GetProcAddress/FreeLibrary, libcurl is "libcurl-4.dll" from beside llmdesk.exe
//          (scripts/setup-windows builds it; the search never includes the current directory first).
// Failures are values: nullptr with `why` set to the system's reason.
#pragma once

#include <string>

namespace llmdesk::net {

void* OpenSharedLibrary(const char* name, std::string& why);
void* FindSymbol(void* library, const char* name, std::string& why);
void CloseSharedLibrary(void* library);

const char* CurlLibraryName();          // what CurlLibrary::Get() loads
const char* CurlLibraryMissingHint();   // how to install it, for the error a user sees

}  // namespace llmdesk::net
