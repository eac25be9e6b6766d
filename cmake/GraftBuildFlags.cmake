# Warnings (zero tolerated) and the sanitizer builds CI runs.
add_compile_options(-Wall -Wextra -Wpedantic)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # g++ 12 at -O3 (the Release build) reports std::string's operator+ on a
  # literal as an overlapping memcpy (GCC bug 105651, fixed in 13); every
  # other build keeps -Wrestrict.
  add_compile_options($<$<CONFIG:Release>:-Wno-restrict>)
endif()
if(GRAFT_WERROR)
  add_compile_options(-Werror)
endif()

if(GRAFT_SANITIZE STREQUAL "address")
  # -Wno-maybe-uninitialized: with -fsanitize=address g++ 12 reports false
  # positives inside libstdc++'s std::regex and std::function (GCC bug 105562);
  # the normal build keeps the warning on.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
                      -Wno-maybe-uninitialized)
  add_link_options(-fsanitize=address,undefined)
elseif(GRAFT_SANITIZE STREQUAL "thread")
  # -Wno-tsan: Boost.Asio (the control server) uses std::atomic_thread_fence,
  # which TSan cannot model, and g++ warns about it. graft's own code uses no
  # fence in TSan builds (GRAFT_GATE_SYMMETRIC in call_gate.hpp).
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  add_link_options(-fsanitize=thread)
elseif(NOT GRAFT_SANITIZE STREQUAL "")
  message(FATAL_ERROR "GRAFT_SANITIZE must be '', 'address' or 'thread', not '${GRAFT_SANITIZE}'")
endif()

if(GRAFT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "GRAFT_FUZZ needs clang (CC=clang-14 CXX=clang++-14)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
