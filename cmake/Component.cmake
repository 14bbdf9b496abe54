# cmake/Component.cmake — one static library per component under src/, with its dependencies declared.
#
#   llmdesk_component(NAME
#     SOURCES a.cpp b.cpp             the component's translation units
#     PUBLIC_HEADERS a.h              its contract; every other header in the folder is private to it
#     DEPENDS config process          the components it may include and link (direct dependencies only)
#     LIBS yaml-cpp                   third-party libraries it uses inside (PRIVATE)
#     PUBLIC_LIBS nlohmann_json::...  third-party libraries its public headers expose)
#
# Each call defines the target llmdesk_NAME and records the component, its DEPENDS and PUBLIC_HEADERS for the
# include-rule test (cmake/CheckIncludes.cmake, `ctest -R include_rules`): a component that includes another
# it did not declare, or another component's private header, fails that test.
function(llmdesk_component name)
  cmake_parse_arguments(C "" "" "SOURCES;PUBLIC_HEADERS;DEPENDS;LIBS;PUBLIC_LIBS" ${ARGN})
  set(target llmdesk_${name})
  add_library(${target} STATIC ${C_SOURCES})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(${target} PUBLIC LLMDESK_VERSION="${PROJECT_VERSION}")
  target_link_libraries(${target} PUBLIC Threads::Threads ${C_PUBLIC_LIBS} PRIVATE llmdesk_warnings ${C_LIBS})
  foreach(dep IN LISTS C_DEPENDS)
    target_link_libraries(${target} PUBLIC llmdesk_${dep})
  endforeach()
  set_property(GLOBAL APPEND PROPERTY LLMDESK_COMPONENTS ${name})
  set_property(GLOBAL PROPERTY LLMDESK_DEPS_${name} "${C_DEPENDS}")
  set_property(GLOBAL PROPERTY LLMDESK_PUBLIC_${name} "${C_PUBLIC_HEADERS}")
endfunction()

# Writes the recorded rules to ${CMAKE_BINARY_DIR}/include_rules.cmake (read by cmake/CheckIncludes.cmake).
function(llmdesk_write_include_rules)
  get_property(components GLOBAL PROPERTY LLMDESK_COMPONENTS)
  set(text "set(LLMDESK_COMPONENTS \"${components}\")\n")
  foreach(c IN LISTS components)
    get_property(deps GLOBAL PROPERTY LLMDESK_DEPS_${c})
    get_property(headers GLOBAL PROPERTY LLMDESK_PUBLIC_${c})
    string(APPEND text "set(LLMDESK_DEPS_${c} \"${deps}\")\nset(LLMDESK_PUBLIC_${c} \"${headers}\")\n")
  endforeach()
  file(WRITE ${CMAKE_BINARY_DIR}/include_rules.cmake "${text}")
endfunction()
