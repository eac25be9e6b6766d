// loadgen's command line.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace loadgen {

struct LoadOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  unsigned threads = 2;
  unsigned connections_per_thread = 1;
  std::chrono::seconds duration{10};
  std::vector<std::string> targets;  // request targets, taken in turn
  std::chrono::milliseconds timeout{2000};
  std::chrono::milliseconds retry_delay{10};
  std::filesystem::path marks_file;    // "NAME UNIX_MS" lines, read after the run
  std::filesystem::path json_file;     // JSON lines per second and a summary; "-" for stdout
  std::filesystem::path summary_file;  // KEY=VALUE lines, for scripts
  bool table = true;
};

}  // namespace loadgen
