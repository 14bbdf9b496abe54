// platform/utf16.h — UTF-8 <-> UTF-16 for the Win32 API (Windows builds only; POSIX APIs take UTF-8 bytes).
// Invalid input never throws: it becomes U+FFFD (MultiByteToWideChar / WideCharToMultiByte without
// MB_ERR_INVALID_CHARS).
#pragma once

#include <string>
#include <string_view>

namespace llmdesk::platform {

std::wstring Widen(std::string_view utf8);
std::string Narrow(std::wstring_view utf16);

}  // namespace llmdesk::platform
