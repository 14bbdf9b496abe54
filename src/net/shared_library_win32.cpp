#include <windows.h>

#include "net/shared_library.h"
#include "platform/utf16.h"

namespace llmdesk::net {
namespace {

std::string LastError() {
  const DWORD code = GetLastError();
  wchar_t* text = nullptr;
  const DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                                     FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, code, 0,
                                 reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  std::string out = n ? platform::Narrow(std::wstring_view(text, n)) : "error " + std::to_string(code);
  if (text) LocalFree(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

void* OpenSharedLibrary(const char* name, std::string& why) {
  // The application's folder and System32 only: a libcurl-4.dll in the current directory is never picked up.
  HMODULE handle = LoadLibraryExW(platform::Widen(name).c_str(), nullptr,
                                  LOAD_LIBRARY_SEARCH_APPLICATION_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (handle == nullptr) why = std::string(name) + ": " + LastError();
  return reinterpret_cast<void*>(handle);
}

void* FindSymbol(void* library, const char* name, std::string& why) {
  FARPROC symbol = GetProcAddress(reinterpret_cast<HMODULE>(library), name);
  if (symbol == nullptr) why = LastError();
  return reinterpret_cast<void*>(symbol);
}

void CloseSharedLibrary(void* library) { FreeLibrary(reinterpret_cast<HMODULE>(library)); }

const char* CurlLibraryName() { return "libcurl-4.dll"; }

const char* CurlLibraryMissingHint() {
  return "libcurl-4.dll is missing beside llmdesk.exe (it ships in the llmdesk zip; scripts/setup-windows builds it): "
         "the tools that make HTTP requests need it";
}

}  // namespace llmdesk::net
