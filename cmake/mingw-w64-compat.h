/* cmake/mingw-w64-compat.h — force-included (-include) into the C files of the Windows engine build
 * (scripts/build-engine-windows) to supply what Debian 12's mingw-w64 10 headers lack and llama.cpp uses, so
 * llama.cpp's sources stay unpatched. Values and layout from the Windows SDK (processthreadsapi.h); mingw-w64 11
 * added them, hence the version guard.
 *   THREAD_POWER_THROTTLING_STATE: ggml-cpu.c asks Windows 11 not to park its compute threads on efficiency
 *   cores (SetThreadInformation(ThreadPowerThrottling), which mingw-w64 10 does declare). */
#include <_mingw.h>
#if defined(__MINGW64_VERSION_MAJOR) && __MINGW64_VERSION_MAJOR < 11
typedef struct _THREAD_POWER_THROTTLING_STATE {
  unsigned long Version;
  unsigned long ControlMask;
  unsigned long StateMask;
} THREAD_POWER_THROTTLING_STATE, *PTHREAD_POWER_THROTTLING_STATE;
#define THREAD_POWER_THROTTLING_CURRENT_VERSION 1
#define THREAD_POWER_THROTTLING_EXECUTION_SPEED 0x1
#define THREAD_POWER_THROTTLING_VALID_FLAGS (THREAD_POWER_THROTTLING_EXECUTION_SPEED)
#endif
