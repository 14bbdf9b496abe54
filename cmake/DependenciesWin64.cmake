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
