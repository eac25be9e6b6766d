// A snapshot of one slot, for hosts, graftctl and the status board.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

enum class SlotState {
  empty,      // nothing loaded yet
  serving,    // one committed version serves
  probation,  // a new version serves; the previous one is kept for rollback
  draining,   // serving, but an old version still has calls inside it
};

enum class VersionState {
  serving,    // current, committed
  probation,  // current, not yet committed
  previous,   // drained, kept loaded for rollback during probation
  draining,   // no longer current; calls still inside it
};

std::string_view to_string(SlotState state) noexcept;
std::string_view to_string(VersionState state) noexcept;

struct VersionStatus {
  std::string version;
  VersionState state = VersionState::serving;
  std::uint64_t in_flight = 0;
  std::uint64_t errors = 0;  // errors returned by this version's calls
  std::string artifact;      // the store copy that is loaded
};

struct SlotStatus {
  std::string component;
  std::string interface_id;
  std::uint32_t interface_major = 0;
  SlotState state = SlotState::empty;
  std::string version;           // the version new calls go to ("" when empty)
  std::string previous_version;  // kept for rollback ("" when none)
  std::uint64_t calls = 0;       // since the slot was declared, all versions
  std::uint64_t errors = 0;
  std::uint64_t in_flight = 0;
  std::chrono::milliseconds probation_left{0};
  std::vector<VersionStatus> versions;     // every loaded version
  std::vector<std::string> stayed_mapped;  // unloaded but still mapped (reported, not retried)
  std::string last_event;
};

}  // namespace graft

#pragma GCC visibility pop
