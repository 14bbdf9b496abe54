// platform/random.h — bytes from the operating system's CSPRNG (session ids, keys).
//   POSIX: getrandom(2), retried until filled. Win32: BCryptGenRandom (the system-preferred RNG).
// Never fails on a working system; blocks only as the kernel's RNG may before it is seeded at boot.
#pragma once

#include <cstddef>

namespace llmdesk::platform {

void FillRandom(unsigned char* out, size_t size);

}  // namespace llmdesk::platform
