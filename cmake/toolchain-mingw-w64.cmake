# cmake/toolchain-mingw-w64.cmake — cross-compiling for Windows x64 with Debian's mingw-w64 (g++ 12, posix
# threads: std::thread and std::mutex work). Used by the `win64` preset and by scripts/setup-windows for the
# dependencies it cross-builds into .deps/win64 (docs/WINDOWS.md).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(LLMDESK_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${LLMDESK_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${LLMDESK_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${LLMDESK_MINGW_TRIPLE}-windres)

# The cross-built dependencies: scripts/setup-windows passes their prefix; the llmdesk build finds them
# through the clone's .deps/win64 link.
if(NOT LLMDESK_WIN64_DEPS)
  get_filename_component(LLMDESK_WIN64_DEPS "${CMAKE_CURRENT_LIST_DIR}/../.deps/win64" ABSOLUTE)
endif()
set(LLMDESK_WIN64_DEPS "${LLMDESK_WIN64_DEPS}" CACHE PATH "cross-built Windows dependencies (scripts/setup-windows)")

# Libraries and packages come from the mingw sysroot and the dependency prefix only, never from the
# build machine; programs (ninja, pkg-config) from the build machine.
set(CMAKE_FIND_ROOT_PATH /usr/${LLMDESK_MINGW_TRIPLE} "${LLMDESK_WIN64_DEPS}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} "${LLMDESK_WIN64_DEPS}/lib/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# Tests and tools built here run under Wine (Debian's wine64).
find_program(LLMDESK_WINE NAMES wine64 wine)
if(LLMDESK_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${LLMDESK_WINE})
endif()
