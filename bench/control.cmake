# [control] graftctl status round trip, inbox-to-serving latency.
add_executable(bench_control control.cpp)
target_compile_definitions(bench_control PRIVATE
  GRAFT_COMPONENT_DIR="${GRAFT_COMPONENT_OUTPUT_DIR}"
  GRAFTCTL_PATH="$<TARGET_FILE:graftctl>")
target_link_libraries(bench_control PRIVATE graft::runtime graft_greeter_interface spdlog::spdlog
                                            benchmark::benchmark ${CMAKE_DL_LIBS})
add_dependencies(bench_control graftctl greeter_1_0_0 greeter_1_1_0)
