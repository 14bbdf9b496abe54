# cmake/CheckIncludes.cmake — the include rules between components, checked as a test (ctest -R include_rules).
#
#   cmake -DRULES=<build>/include_rules.cmake -DSOURCE_DIR=<src> -P cmake/CheckIncludes.cmake
#
# RULES (written by llmdesk_component() in cmake/Component.cmake) lists every component, the components it
# declares as dependencies, and its public headers. The rules:
#   1. src/A/* may include "B/..." only when B is A or one of A's declared dependencies;
#   2. src/A/*, apps/* and bench/* may include "B/x.h" of another component only when x.h is one of B's public
#      headers (tests may include private headers: they test the component from inside);
#   3. nothing includes a header that does not exist in src/ (a stale name is a broken contract).
# Every violation is printed as file:line: what is wrong; any violation fails the test.
cmake_minimum_required(VERSION 3.25)
include(${RULES})

set(violations 0)
function(check_file file component check_privates)
  file(STRINGS ${file} lines REGEX "^#include \"")
  file(STRINGS ${file} all_lines)
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "^#include \"([a-z_]+)/([A-Za-z0-9_./]+)\"")
      continue()
    endif()
    set(target ${CMAKE_MATCH_1})
    set(header ${CMAKE_MATCH_2})
    if(NOT target IN_LIST LLMDESK_COMPONENTS)
      continue()  # tests' own helpers ("support/...", "integration/...")
    endif()
    list(FIND all_lines "${line}" at)
    math(EXPR at "${at} + 1")
    if(NOT EXISTS ${SOURCE_DIR}/src/${target}/${header})
      message("${file}:${at}: includes ${target}/${header}, which does not exist")
      math(EXPR violations "${violations} + 1")
    endif()
    if(component AND NOT target STREQUAL component AND NOT target IN_LIST LLMDESK_DEPS_${component})
      message("${file}:${at}: component '${component}' includes ${target}/${header} but does not declare "
              "'${target}' in its DEPENDS (src/${component}/CMakeLists.txt)")
      math(EXPR violations "${violations} + 1")
    endif()
    if(check_privates AND NOT target STREQUAL component AND NOT header IN_LIST LLMDESK_PUBLIC_${target})
      message("${file}:${at}: ${target}/${header} is private to '${target}' (its public headers: "
              "${LLMDESK_PUBLIC_${target}})")
      math(EXPR violations "${violations} + 1")
    endif()
  endforeach()
  set(violations ${violations} PARENT_SCOPE)
endfunction()

foreach(component IN LISTS LLMDESK_COMPONENTS)
  file(GLOB_RECURSE files ${SOURCE_DIR}/src/${component}/*.h ${SOURCE_DIR}/src/${component}/*.cpp)
  foreach(f IN LISTS files)
    check_file(${f} ${component} TRUE)
  endforeach()
endforeach()
file(GLOB_RECURSE front_ends ${SOURCE_DIR}/apps/*.h ${SOURCE_DIR}/apps/*.cpp ${SOURCE_DIR}/bench/*.h
     ${SOURCE_DIR}/bench/*.cpp)
foreach(f IN LISTS front_ends)
  check_file(${f} "" TRUE)
endforeach()
file(GLOB_RECURSE tests ${SOURCE_DIR}/tests/unit/*.cpp ${SOURCE_DIR}/tests/integration/*.cpp
     ${SOURCE_DIR}/tests/integration/*.h ${SOURCE_DIR}/tests/support/*.cpp ${SOURCE_DIR}/tests/support/*.h
     ${SOURCE_DIR}/tests/fuzz/*.cpp)
foreach(f IN LISTS tests)
  check_file(${f} "" FALSE)
endforeach()

list(LENGTH LLMDESK_COMPONENTS n)
if(violations GREATER 0)
  message(FATAL_ERROR "${violations} include rule violation(s) across ${n} components")
endif()
message("include rules: ${n} components, no violations")
