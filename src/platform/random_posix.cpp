#include "platform/random.h"

#include <sys/random.h>

namespace llmdesk::platform {

void FillRandom(unsigned char* out, size_t size) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = getrandom(out + got, size - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
}

}  // namespace llmdesk::platform
