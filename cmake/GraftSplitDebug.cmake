# Run after a component links (cmake -P): moves its debug info into
# <DEBUG_DIR>/.build-id/<first 2 hex>/<rest>.debug and strips the object
# (--strip-unneeded: the dynamic symbols dlopen needs stay). gdb, eu-stack,
# systemd-coredump and debuginfod find the debug file by the object's build
# id, so a crash in a store copy named <sha256>.so still symbolises.
#   cmake -DOBJECT=<file.so> -DDEBUG_DIR=<dir> -DREADELF=<readelf>
#         -DOBJCOPY=<objcopy> -P GraftSplitDebug.cmake
foreach(var OBJECT DEBUG_DIR READELF OBJCOPY)
  if(NOT ${var})
    message(FATAL_ERROR "GraftSplitDebug: ${var} is not set")
  endif()
endforeach()
execute_process(COMMAND "${READELF}" --notes "${OBJECT}"
                OUTPUT_VARIABLE notes RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT notes MATCHES "Build ID: ([0-9a-f][0-9a-f])([0-9a-f]+)")
  message(FATAL_ERROR "GraftSplitDebug: '${OBJECT}' has no build id (link with --build-id)")
endif()
set(debug_file "${DEBUG_DIR}/.build-id/${CMAKE_MATCH_1}/${CMAKE_MATCH_2}.debug")
get_filename_component(debug_folder "${debug_file}" DIRECTORY)
file(MAKE_DIRECTORY "${debug_folder}")
execute_process(COMMAND "${OBJCOPY}" --only-keep-debug "${OBJECT}" "${debug_file}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "GraftSplitDebug: objcopy --only-keep-debug '${OBJECT}' failed")
endif()
execute_process(COMMAND "${OBJCOPY}" --strip-unneeded "${OBJECT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "GraftSplitDebug: objcopy --strip-unneeded '${OBJECT}' failed")
endif()
