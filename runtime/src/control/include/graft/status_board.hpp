// A host's status board: a shared-memory segment (0600, fixed layout) that
// only its host writes, each record guarded by a seqlock. Readers (graftctl
// status, graftctl top) take no lock: they copy a record and retry when the
// host wrote it meanwhile, so a reader that stalls or dies never holds up
// the host.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

struct BoardComponent {
  std::string name;
  std::string interface_id;
  std::string version;           // serving ("" when empty)
  std::string previous_version;  // kept for rollback ("" when none)
  std::string state;             // to_string(SlotState)
  std::uint64_t calls = 0;
  std::uint64_t errors = 0;
  std::uint64_t in_flight = 0;
  std::chrono::milliseconds probation_left{0};
  std::string last_event;
};

// A bundle the host verified and holds until an operator approves it.
struct BoardPending {
  std::string bundle;  // folder name in the inbox
  std::string component;
  std::string version;
  std::string path;
};

struct BoardSnapshot {
  int pid = 0;
  std::uint64_t process_start_ticks = 0;  // /proc/PID/stat start time: tells pid reuse apart
  std::string name;
  std::chrono::system_clock::time_point started;
  std::chrono::system_clock::time_point refreshed;  // the host's last write
  std::uint64_t refreshes = 0;
  bool auto_install = false;
  bool has_inbox = false;
  std::vector<BoardComponent> components;
  std::vector<BoardPending> pending;
};

// Reads the board named `shm_name` (see HostDirectory::board_name). nullopt,
// with `error` set, when it does not exist, is not a board, or stays
// mid-write for every retry.
std::optional<BoardSnapshot> read_status_board(const std::string& shm_name,
                                               std::string* error = nullptr);

// The snapshot as a JSON object (text): what `graftctl status --json`
// prints for a host and what the host's "status" request answers.
std::string to_json(const BoardSnapshot& snapshot);

}  // namespace graft

#pragma GCC visibility pop
