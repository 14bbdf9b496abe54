#include "platform/random.h"

#include <windows.h>

#include <bcrypt.h>

#include <algorithm>
#include <climits>

namespace llmdesk::platform {

void FillRandom(unsigned char* out, size_t size) {
  while (size > 0) {
    const ULONG chunk = static_cast<ULONG>(std::min<size_t>(size, ULONG_MAX));
    if (BCryptGenRandom(nullptr, out, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0) out += chunk, size -= chunk;
  }
}

}  // namespace llmdesk::platform
