# [trust] time to install a verified bundle of the small greeter (signature,
# hash, copy into the store, load, self-test, swap). Two response builds of
# its own, so the benchmark needs no test targets.
set(bench_install_dir ${CMAKE_BINARY_DIR}/fixture-files/bench-install)
foreach(letter a b)
  if(letter STREQUAL "a")
    set(generation 3)
  else()
    set(generation 4)
  endif()
  graft_add_component(bench_greeter_1_0_0_${letter} NAME greeter VERSION "1.0.0 (${letter})"
    SOURCES ${PROJECT_SOURCE_DIR}/components/greeter/greeter.cpp
    INTERFACE graft_greeter_interface DEFINITIONS GREETER_GENERATION=${generation}
    OUTPUT_DIRECTORY ${bench_install_dir})
endforeach()

add_executable(bench_install install.cpp)
target_compile_definitions(bench_install PRIVATE
  GRAFT_COMPONENT_DIR="${GRAFT_COMPONENT_OUTPUT_DIR}"
  GRAFT_BENCH_INSTALL_DIR="${bench_install_dir}")
target_link_libraries(bench_install PRIVATE graft::runtime graft_greeter_interface spdlog::spdlog
                                            benchmark::benchmark ${CMAKE_DL_LIBS})
add_dependencies(bench_install greeter_1_0_0 bench_greeter_1_0_0_a bench_greeter_1_0_0_b)
