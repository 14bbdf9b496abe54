# tests/gui/install_check.cmake — `cmake --install` into a scratch DESTDIR puts the desktop app where a desktop finds
# it: the llmdesk CLI (the app starts `llmdesk serve`), llmdesk-testmodel (the offline demo model), llmdesk-gui, its
# .desktop file and its icon.
#   cmake -DBUILD_DIR=... -DSTAGE=... -P install_check.cmake
file(REMOVE_RECURSE "${STAGE}")
set(ENV{DESTDIR} "${STAGE}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix /usr
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${result}):\n${out}\n${err}")
endif()
foreach(path usr/bin/llmdesk usr/bin/llmdesk-testmodel usr/bin/llmdesk-gui usr/share/applications/llmdesk.desktop
             usr/share/icons/hicolor/scalable/apps/llmdesk.svg)
  if(NOT EXISTS "${STAGE}/${path}")
    message(FATAL_ERROR "cmake --install did not install /${path}; it installed:\n${out}")
  endif()
endforeach()
foreach(program usr/bin/llmdesk usr/bin/llmdesk-gui)
  execute_process(COMMAND "${STAGE}/${program}" --version RESULT_VARIABLE ran OUTPUT_VARIABLE version ERROR_VARIABLE err)
  if(NOT ran EQUAL 0 OR NOT version MATCHES "llmdesk")
    message(FATAL_ERROR "the installed ${program} does not run: ${ran} ${version} ${err}")
  endif()
endforeach()
file(READ "${STAGE}/usr/share/applications/llmdesk.desktop" entry)
if(NOT entry MATCHES "\nExec=llmdesk-gui" OR NOT entry MATCHES "\nIcon=llmdesk\n")
  message(FATAL_ERROR "the .desktop file does not start llmdesk-gui with the llmdesk icon:\n${entry}")
endif()
message(STATUS "installed: llmdesk, llmdesk-testmodel, llmdesk-gui, llmdesk.desktop, llmdesk.svg")
