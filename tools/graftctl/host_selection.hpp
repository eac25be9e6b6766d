// Which running hosts a command is about: all of them, or the one named by
// --host (a pid or a host name). With several hosts running and no --host,
// a command that changes one host refuses to guess.
#pragma once

#include <graft/host_directory.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace graftctl {

struct HostSelection {
  std::vector<graft::HostEntry> hosts;
  int exit_code = 0;  // non-zero: `error` says why no host was chosen
  std::string error;
};

// Every live host (dead hosts' leftovers are removed on the way; each one
// is reported on stderr).
std::vector<graft::HostEntry> live_hosts(const std::filesystem::path& run_dir);

// `host` empty: every live host. Otherwise the hosts it names (a pid, or
// every host with that name).
HostSelection select_hosts(const std::filesystem::path& run_dir, const std::string& host);

// Exactly one host: the one `host` names, or the only one running.
HostSelection select_one_host(const std::filesystem::path& run_dir, const std::string& host);

// "frontend (pid 1234)"
std::string describe(const graft::HostEntry& host);

// Why no host is listed: none of this user runs, or the run dir cannot be
// read (another user's hosts are never visible).
std::string no_host_message(const std::filesystem::path& run_dir);

// "a (pid 1), b (pid 2)"
std::string host_list(const std::vector<graft::HostEntry>& hosts);

}  // namespace graftctl
