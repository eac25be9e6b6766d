// The host's side of its status board: creates the segment (0600), writes
// the records, removes the segment when the host stops.
#pragma once

#include <graft/status_board.hpp>

#include <memory>
#include <string>

// Exported for graft's tests, not a public API.
#pragma GCC visibility push(default)

namespace graft::control {

class StatusBoardWriter {
 public:
  // Creates (replacing a dead host's leftover of the same name) and maps
  // the segment. Throws graft::Error when it cannot.
  explicit StatusBoardWriter(std::string shm_name);
  ~StatusBoardWriter();
  StatusBoardWriter(const StatusBoardWriter&) = delete;
  StatusBoardWriter& operator=(const StatusBoardWriter&) = delete;

  // Writes every record from `snapshot` (components and pending beyond the
  // board's capacity are left off; the host record says how many there are).
  // Called from one thread at a time.
  void publish(const BoardSnapshot& snapshot);

  const std::string& name() const noexcept { return name_; }

 private:
  struct Mapping;
  std::string name_;
  std::unique_ptr<Mapping> mapping_;
};

}  // namespace graft::control

#pragma GCC visibility pop
