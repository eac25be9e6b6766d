# graft_add_component(<target>
#     NAME <component> VERSION <version>
#     SOURCES <files...>
#     [INTERFACE <targets or include dirs...>]
#     [LINK_LIBRARIES <libs...>] [DEFINITIONS <defs...>]
#     [OUTPUT_DIRECTORY <dir>] [ALLOW_UNDEFINED] [KEEP_DEBUG_INFO])
#
# Builds a component: a MODULE library against graft::abi alone, with hidden
# visibility and -fno-gnu-unique (so dlclose really unmaps it), named
# <component>-<version>.so, e.g. origin_guard-26.3.1-a.so for "26.3.1 (a)".
# GRAFT_COMPONENT_NAME and GRAFT_COMPONENT_VERSION are defined for the
# sources (GRAFT_COMPONENT() in <graft/component.hpp> uses them).
#
# Unless the build type is Debug (or GRAFT_STRIP_COMPONENTS is OFF, or the
# component says KEEP_DEBUG_INFO), the object is stripped after linking and
# its debug info kept by build id in
# ${GRAFT_COMPONENT_DEBUG_DIR}/.build-id/<xx>/<rest>.debug (default
# <build>/component-debug): bundles and deltas stay small, and a debugger or
# crash report still finds the symbols (docs/author-guide.md).
set(_GRAFT_SPLIT_DEBUG_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/GraftSplitDebug.cmake")
function(graft_add_component target)
  cmake_parse_arguments(ARG "ALLOW_UNDEFINED;KEEP_DEBUG_INFO" "NAME;VERSION;OUTPUT_DIRECTORY"
                        "SOURCES;INTERFACE;LINK_LIBRARIES;DEFINITIONS" ${ARGN})
  if(NOT ARG_NAME OR NOT ARG_VERSION OR NOT ARG_SOURCES)
    message(FATAL_ERROR "graft_add_component(${target}): NAME, VERSION and SOURCES are required")
  endif()
  if(NOT ARG_NAME MATCHES "^[A-Za-z0-9_.-]+$")
    message(FATAL_ERROR "graft_add_component(${target}): NAME '${ARG_NAME}' may hold only letters, digits, '_', '.' and '-'")
  endif()
  # Accept 26.3.1, "26.3.1 (a)", 26.3.1(a) and 26.3.1-a.
  if(NOT ARG_VERSION MATCHES "^([0-9]+\\.[0-9]+\\.[0-9]+) ?(\\(([a-z])\\)|-([a-z]))?$")
    message(FATAL_ERROR "graft_add_component(${target}): VERSION '${ARG_VERSION}' is not MAJOR.MINOR.PATCH with an optional response letter, e.g. \"26.3.1 (a)\"")
  endif()
  set(base "${CMAKE_MATCH_1}")
  set(letter "${CMAKE_MATCH_3}${CMAKE_MATCH_4}")
  if(letter)
    set(pretty "${base} (${letter})")
    set(suffix "${base}-${letter}")
  else()
    set(pretty "${base}")
    set(suffix "${base}")
  endif()

  add_library(${target} MODULE ${ARG_SOURCES})
  if(TARGET graft::abi)
    target_link_libraries(${target} PRIVATE graft::abi)
  endif()
  foreach(iface IN LISTS ARG_INTERFACE)
    if(TARGET ${iface})
      target_link_libraries(${target} PRIVATE ${iface})
    else()
      target_include_directories(${target} PRIVATE ${iface})
    endif()
  endforeach()
  if(ARG_LINK_LIBRARIES)
    target_link_libraries(${target} PRIVATE ${ARG_LINK_LIBRARIES})
  endif()
  target_compile_definitions(${target} PRIVATE
    "GRAFT_COMPONENT_NAME=\"${ARG_NAME}\""
    "GRAFT_COMPONENT_VERSION=\"${pretty}\""
    ${ARG_DEFINITIONS})
  target_compile_options(${target} PRIVATE -fno-gnu-unique)
  if(NOT ARG_ALLOW_UNDEFINED)
    target_link_options(${target} PRIVATE "LINKER:-z,defs")
  endif()
  # The build id names the separate debug file.
  target_link_options(${target} PRIVATE "LINKER:--build-id=sha1")
  if(NOT DEFINED GRAFT_STRIP_COMPONENTS)
    if(CMAKE_BUILD_TYPE STREQUAL "Debug")
      set(GRAFT_STRIP_COMPONENTS OFF)
    else()
      set(GRAFT_STRIP_COMPONENTS ON)
    endif()
  endif()
  if(GRAFT_STRIP_COMPONENTS AND NOT ARG_KEEP_DEBUG_INFO)
    if(NOT DEFINED GRAFT_COMPONENT_DEBUG_DIR)
      set(GRAFT_COMPONENT_DEBUG_DIR "${CMAKE_BINARY_DIR}/component-debug")
    endif()
    find_program(GRAFT_READELF NAMES readelf ${CMAKE_READELF} REQUIRED)
    find_program(GRAFT_OBJCOPY NAMES objcopy ${CMAKE_OBJCOPY} REQUIRED)
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -DOBJECT=$<TARGET_FILE:${target}>
              -DDEBUG_DIR=${GRAFT_COMPONENT_DEBUG_DIR} -DREADELF=${GRAFT_READELF}
              -DOBJCOPY=${GRAFT_OBJCOPY} -P ${_GRAFT_SPLIT_DEBUG_SCRIPT}
      COMMENT "Stripping ${ARG_NAME} ${pretty}; debug info by build id in ${GRAFT_COMPONENT_DEBUG_DIR}"
      VERBATIM)
  endif()
  if(NOT ARG_OUTPUT_DIRECTORY)
    if(DEFINED GRAFT_COMPONENT_OUTPUT_DIR)
      set(ARG_OUTPUT_DIRECTORY "${GRAFT_COMPONENT_OUTPUT_DIR}")
    else()
      set(ARG_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
    endif()
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "${ARG_NAME}-${suffix}"
    LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
endfunction()
