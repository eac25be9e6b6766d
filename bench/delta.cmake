# [lightweight] delta sizes and rebuild times: bsdiff, xdelta3 and libzstd on
# every component version pair in the tree and on a generated multi-megabyte
# component with a one-function fix. The pairs are built here with their
# debug info (KEEP_DEBUG_INFO); bench/delta.cpp strips copies itself with
# the same objcopy --strip-unneeded the build uses, so it measures both.
find_package(CURL REQUIRED)
pkg_check_modules(bench_zstd REQUIRED IMPORTED_TARGET libzstd)
set(bench_delta_dir ${CMAKE_BINARY_DIR}/fixture-files/bench-delta)
set(og ${PROJECT_SOURCE_DIR}/components/origin_guard)
set(og_sources ${og}/origin_guard.cpp ${og}/same_origin.cpp ${og}/host_match.cpp ${og}/web_origin.cpp)
graft_add_component(bench_delta_origin_guard_26_3_1 NAME origin_guard VERSION 26.3.1
  SOURCES ${og_sources} INTERFACE graft_origin_guard_interface LINK_LIBRARIES CURL::libcurl
  OUTPUT_DIRECTORY ${bench_delta_dir} KEEP_DEBUG_INFO)
graft_add_component(bench_delta_origin_guard_26_3_1_a NAME origin_guard VERSION "26.3.1 (a)"
  SOURCES ${og_sources} INTERFACE graft_origin_guard_interface LINK_LIBRARIES CURL::libcurl
  DEFINITIONS ORIGIN_GUARD_FIX_HOST_PREFIX_MATCH OUTPUT_DIRECTORY ${bench_delta_dir} KEEP_DEBUG_INFO)
foreach(pair "greeter;1.0.0;GREETER_GENERATION=1" "greeter;1.1.0;GREETER_GENERATION=2"
             "counter;1.0.0;COUNTER_GENERATION=1" "counter;2.0.0;COUNTER_GENERATION=2")
  list(GET pair 0 name)
  list(GET pair 1 version)
  list(GET pair 2 definition)
  string(REPLACE "." "_" id "${version}")
  graft_add_component(bench_delta_${name}_${id} NAME ${name} VERSION ${version}
    SOURCES ${PROJECT_SOURCE_DIR}/components/${name}/${name}.cpp
    INTERFACE graft_${name}_interface DEFINITIONS ${definition}
    OUTPUT_DIRECTORY ${bench_delta_dir} KEEP_DEBUG_INFO)
endforeach()

# The generated component: ~17,000 functions (about 5 MB of code) in files
# compiled once, plus file 0 compiled per version (the fix is in file 0).
set(big_files 10)
set(big_funcs 1700)
set(big_dir ${CMAKE_CURRENT_BINARY_DIR}/big_component)
set(big_sources)
math(EXPR big_last "${big_files} - 1")
foreach(f RANGE 0 ${big_last})
  list(APPEND big_sources ${big_dir}/big_${f}.cpp)
endforeach()
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_custom_command(OUTPUT ${big_sources}
  COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/generate_big_component.py
          ${big_dir} ${big_files} ${big_funcs}
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/generate_big_component.py
  COMMENT "Generating the multi-megabyte benchmark component" VERBATIM)
list(POP_FRONT big_sources big_first)
add_library(bench_delta_big_common OBJECT ${big_sources})
set_target_properties(bench_delta_big_common PROPERTIES CXX_VISIBILITY_PRESET hidden
                                                        POSITION_INDEPENDENT_CODE ON)
target_compile_options(bench_delta_big_common PRIVATE -fno-gnu-unique -w)
graft_add_component(bench_delta_big_1_0_0 NAME big VERSION 1.0.0
  SOURCES ${PROJECT_SOURCE_DIR}/components/greeter/greeter.cpp ${big_first}
  INTERFACE graft_greeter_interface LINK_LIBRARIES bench_delta_big_common
  DEFINITIONS GREETER_GENERATION=1 OUTPUT_DIRECTORY ${bench_delta_dir} KEEP_DEBUG_INFO)
graft_add_component(bench_delta_big_1_0_0_a NAME big VERSION "1.0.0 (a)"
  SOURCES ${PROJECT_SOURCE_DIR}/components/greeter/greeter.cpp ${big_first}
  INTERFACE graft_greeter_interface LINK_LIBRARIES bench_delta_big_common
  DEFINITIONS GREETER_GENERATION=1 BIG_COMPONENT_FIX OUTPUT_DIRECTORY ${bench_delta_dir}
  KEEP_DEBUG_INFO)
set_source_files_properties(${big_first} PROPERTIES COMPILE_OPTIONS -w)

# "unstripped" means with line tables (-g1), whatever the build type: what
# the tree's RelWithDebInfo build makes, 163 KB for origin_guard.
foreach(t bench_delta_origin_guard_26_3_1 bench_delta_origin_guard_26_3_1_a
          bench_delta_greeter_1_0_0 bench_delta_greeter_1_1_0 bench_delta_counter_1_0_0
          bench_delta_counter_2_0_0 bench_delta_big_1_0_0 bench_delta_big_1_0_0_a
          bench_delta_big_common)
  target_compile_options(${t} PRIVATE -g1)
endforeach()

add_executable(bench_delta delta.cpp)
target_compile_definitions(bench_delta PRIVATE GRAFT_BENCH_DELTA_DIR="${bench_delta_dir}")
target_link_libraries(bench_delta PRIVATE graft::runtime graft_runtime_internal PkgConfig::bench_zstd
                                          benchmark::benchmark)
add_dependencies(bench_delta bench_delta_origin_guard_26_3_1 bench_delta_origin_guard_26_3_1_a
  bench_delta_greeter_1_0_0 bench_delta_greeter_1_1_0 bench_delta_counter_1_0_0
  bench_delta_counter_2_0_0 bench_delta_big_1_0_0 bench_delta_big_1_0_0_a)
