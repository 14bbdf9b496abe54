/* cmake/mingw-w64-compat.h — force-included (-include) into the C and C++ files of the Windows engine build
 * (scripts/build-engine-windows) to fix what Debian 12's mingw-w64 10 headers and GCC 12 lack or get wrong for
 * llama.cpp, so llama.cpp's sources stay unpatched. Each part is guarded so that a toolchain without the
 * problem never sees it.
 *   THREAD_POWER_THROTTLING_STATE: ggml-cpu.c asks Windows 11 not to park its compute threads on efficiency
 *   cores (SetThreadInformation(ThreadPowerThrottling), which mingw-w64 10 does declare). Values and layout from
 *   the Windows SDK (processthreadsapi.h); mingw-w64 11 added them. */
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

/* GCC 12's AMX tile macros pass the row stride as `(long)`, which is 32 bits on Win64 (LLP64): the assembler then
 * rejects `tileloadd (%rax,%edi,1)` (a 32-bit index register with a 64-bit base). ggml's amx/mmq.cpp uses them in
 * the sapphirerapids CPU variant, the only one compiled with -mamx-tile, so only that one sees these: the same
 * macros with a 64-bit stride. */
#if defined(__AMX_TILE__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#include <immintrin.h>
#undef _tile_loadd_internal
#define _tile_loadd_internal(dst, base, stride)                                            \
  __asm__ volatile("{tileloadd\t(%0,%1,1), %%tmm" #dst "|tileloadd\t%%tmm" #dst ", [%0+%1*1]}" \
                   ::"r"((const void*)(base)), "r"((long long)(stride)))
#undef _tile_stream_loadd_internal
#define _tile_stream_loadd_internal(dst, base, stride)                                         \
  __asm__ volatile("{tileloaddt1\t(%0,%1,1), %%tmm" #dst "|tileloaddt1\t%%tmm" #dst ", [%0+%1*1]}" \
                   ::"r"((const void*)(base)), "r"((long long)(stride)))
#undef _tile_stored_internal
#define _tile_stored_internal(src, base, stride)                                            \
  __asm__ volatile("{tilestored\t%%tmm" #src ", (%0,%1,1)|tilestored\t[%0+%1*1], %%tmm" #src "}" \
                   ::"r"((void*)(base)), "r"((long long)(stride))                                \
                   : "memory")
#endif
