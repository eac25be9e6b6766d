// Events a slot reports as they happen (the journal and the status board
// listen to them).
#pragma once

#include <graft/status.hpp>

#include <string>
#include <string_view>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

enum class SlotEventKind {
  loaded,        // first version into an empty slot
  swapped,       // a new version published
  refused,       // a load or swap failed; the serving version is untouched
  rolled_back,   // back to the previous version
  committed,     // probation over; previous version released
  draining,      // drain deadline passed; old version kept loaded, retried
  unloaded,      // an old version drained and was unloaded
  stayed_mapped  // unloaded, but the object is still mapped
};

std::string_view to_string(SlotEventKind kind) noexcept;

struct SlotEvent {
  SlotEventKind kind = SlotEventKind::loaded;
  std::string component;
  std::string version;       // the version the event is about
  std::string from_version;  // for swapped / rolled_back: the version before
  std::string by;            // "operator", "probation", "host"
  std::string artifact;      // store path, when a file is involved
  Status status;             // for refused: why
  std::string mode;          // for swapped / rolled_back: "immediate" or "quiesce"
  std::string note;          // extra words, e.g. why state was not carried
};

}  // namespace graft

#pragma GCC visibility pop
