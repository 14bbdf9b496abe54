// platform/utf16.h — UTF-8 <-> UTF-16 for the Win32 API (Windows builds only; POSIX APIs take UTF-8 bytes).
// Invalid input never throws: it becomes U+FFFD (MultiByteToWideChar / WideCharToMultiByte without
// MB_ERR_INVALID_CHARS).
#pragma once

#include <string>
#include <string_view>

namespace llmdesk::platform {

std::wstring Widen(std::string_view utf8);
std::string Narrow(std::wstring_view utf16);

// Windows' own text for an error code (GetLastError()), in UTF-8 without the trailing newline; "error N" when
// Windows has none.
std::string ErrorText(unsigned long code);

}  // namespace llmdesk::platform
