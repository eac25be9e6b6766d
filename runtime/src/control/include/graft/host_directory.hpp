// The run directory where hosts publish their control sockets, and the
// status boards that go with them. It finds the hosts that are running and
// removes what dead ones left behind (socket files, boards), so that a host
// killed with SIGKILL never stands in the way of the next one.
//
//   <run dir>/host-<pid>.sock         the control socket (0600)
//   /dev/shm/graft.<uid>.<dir hash>.<pid>   the status board (0600)
#pragma once

#include <graft/status.hpp>
#include <graft/status_board.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

// GRAFT_RUN_DIR if set, else $XDG_RUNTIME_DIR/graft, else /tmp/graft-<uid>.
std::filesystem::path default_run_dir();

// True when `pid` runs and is not a zombie; when `start_ticks` is non-zero
// it must also match the process's start time (so a reused pid is dead).
bool process_alive(int pid, std::uint64_t start_ticks = 0);
// The start time of `pid` in clock ticks since boot (0 if unknown).
std::uint64_t process_start_ticks(int pid);

struct HostEntry {
  int pid = 0;
  std::filesystem::path socket;
  std::string board;                      // shared-memory name
  std::optional<BoardSnapshot> snapshot;  // nullopt while the host is still starting
};

class HostDirectory {
 public:
  explicit HostDirectory(std::filesystem::path run_dir);

  const std::filesystem::path& run_dir() const noexcept { return run_dir_; }
  std::filesystem::path socket_path(int pid) const;
  // The board of the host `pid`: the name it recorded in the run directory
  // (when another user had taken the usual one), else the usual name.
  std::string board_name(int pid) const;
  // Records that the host `pid` publishes its board under `name`; forget
  // removes the record (a stopping host, or one that got its usual name).
  Status record_board_name(int pid, const std::string& name) const;
  void forget_board_name(int pid) const;

  // Creates the run directory (0700) if missing. Throws graft::Error when
  // it cannot, or when it is not a directory owned by this user.
  void prepare() const;
  // The hosts running now, by pid, after removing what dead hosts left.
  // `removed` receives the pids whose leftovers were removed.
  std::vector<HostEntry> live_hosts(std::vector<int>* removed = nullptr) const;
  // Removes sockets and boards whose host is gone; returns their pids.
  std::vector<int> remove_dead() const;

 private:
  std::filesystem::path board_record(int pid) const;

  std::filesystem::path run_dir_;
  std::string board_prefix_;
};

}  // namespace graft

#pragma GCC visibility pop
