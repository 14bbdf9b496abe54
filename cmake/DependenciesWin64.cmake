# The Windows build's dependencies (preset win64, docs/WINDOWS.md): cross-built by scripts/setup-windows from
# Debian's source packages into ${LLMDESK_WIN64_DEPS} (.deps/win64); header-only ones from Debian's /usr/include
# through ${LLMDESK_WIN64_DEPS}/include-host, which links to those headers only.
if(NOT EXISTS "${LLMDESK_WIN64_DEPS}/.complete")
  message(FATAL_ERROR "No cross-built dependencies in ${LLMDESK_WIN64_DEPS}: run scripts/setup-windows first")
endif()
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(SQLiteCpp REQUIRED)  # and its SQLite3 (static): the history store (store/)
pkg_check_modules(MUPARSER REQUIRED IMPORTED_TARGET muparser)
# muparser.pc does not say the library is static; without MUPARSER_STATIC its header declares dllimport.
set_property(TARGET PkgConfig::MUPARSER APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS MUPARSER_STATIC)
foreach(header_only nlohmann_json::nlohmann_json CLI11::CLI11 Boost::headers)
  add_library(${header_only} INTERFACE IMPORTED)
  set_target_properties(${header_only} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${LLMDESK_WIN64_DEPS}/include-host")
endforeach()
set(CURL_INCLUDE_DIRS "${LLMDESK_WIN64_DEPS}/include")  # libcurl-4.dll is loaded at run time (net/curl_library.h)

# Windows 10 APIs (GetExtendedTcpTable, LoadLibraryExW search flags); Asio wants _WIN32_WINNT. NOMINMAX keeps
# windows.h's min/max macros away from std::min. One self-contained exe: libstdc++, libgcc and winpthread static.
add_compile_definitions(_WIN32_WINNT=0x0A00 WINVER=0x0A00 NOMINMAX WIN32_LEAN_AND_MEAN)
add_link_options(-static)

# get_time's date/tz (docs/WINDOWS.md, "get_time on Windows"): Debian's own source of the version the Linux build
# links, compiled here with the IANA database read as text at run time from the folder `tzdata` beside llmdesk.exe
# (tools/tz_database_win32.cpp calls date::set_install). Windows has no /usr/share/zoneinfo, and date/tz's
# USE_OS_TZDB is POSIX-only; nothing is downloaded (HAS_REMOTE_API=0, AUTO_DOWNLOAD=0). INSTALL=. only replaces
# the default folder (the user's Downloads, a shell32/COM lookup) that set_install overrides anyway.
# scripts/setup-windows-tz fills ${LLMDESK_WIN64_TZ} (date/ and tzdata/).
set(LLMDESK_WIN64_TZ "${CMAKE_SOURCE_DIR}/.deps/win64-tz" CACHE PATH "date/tz sources and tzdata (scripts/setup-windows-tz)")
if(NOT EXISTS "${LLMDESK_WIN64_TZ}/.complete")
  message(FATAL_ERROR "No date/tz sources and tzdata in ${LLMDESK_WIN64_TZ}: run scripts/setup-windows --deps-only")
endif()
add_library(llmdesk_date_tz STATIC "${LLMDESK_WIN64_TZ}/date/src/tz.cpp")
target_include_directories(llmdesk_date_tz SYSTEM PUBLIC "${LLMDESK_WIN64_TZ}/date/include")
target_compile_definitions(llmdesk_date_tz PUBLIC USE_OS_TZDB=0 HAS_STRING_VIEW=1 ONLY_C_LOCALE=1
                           PRIVATE HAS_REMOTE_API=0 AUTO_DOWNLOAD=0 INSTALL=.)
target_compile_options(llmdesk_date_tz PRIVATE -w)  # third-party code, as Debian ships it
# ONLY_C_LOCALE=1 as Debian builds it for Linux: weekday and month names are date's own English ones on both.
target_link_libraries(llmdesk_date_tz PUBLIC Threads::Threads PRIVATE ole32 shell32)
add_library(date::date-tz ALIAS llmdesk_date_tz)
