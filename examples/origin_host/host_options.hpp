// origin_host's command line.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace origin_host {

struct HostOptions {
  unsigned short port = 0;  // 0: pick a free port and print it
  unsigned threads = 2;
  std::filesystem::path state_dir = "origin_host-state";
  std::filesystem::path component;  // bundle folder or .so to start on
  std::filesystem::path inbox;      // watched for bundles; empty: no inbox
  std::filesystem::path run_dir;    // control socket and status board; empty: the default
  std::vector<std::filesystem::path> trusted_keys;
  bool auto_install = false;
  bool verbose = false;
};

// Parses argv. Returns the options, or nullopt after printing help or an
// error; `exit_code` is then what main should return.
std::optional<HostOptions> parse_host_options(int argc, char** argv, int& exit_code);

}  // namespace origin_host
