// `graftctl top`: the status boards of the running hosts, redrawn every
// interval, with call rates. Reads only the boards: a busy or hung host
// never holds it up. Quits on q or Ctrl-C, restoring the terminal.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace graftctl {

struct TopOptions {
  std::filesystem::path run_dir;
  std::string host;  // empty: every host
  std::chrono::milliseconds interval{1000};
  long iterations = 0;  // 0: until q or Ctrl-C
  bool json = false;    // one JSON line per refresh instead of a screen
};

// Returns the exit code.
int run_top(const TopOptions& options);

}  // namespace graftctl
