#include <graft/slot_event.hpp>
#include <graft/slot_status.hpp>

namespace graft {

std::string_view to_string(SlotState state) noexcept {
  switch (state) {
    case SlotState::empty:
      return "empty";
    case SlotState::serving:
      return "serving";
    case SlotState::probation:
      return "probation";
    case SlotState::draining:
      return "draining";
  }
  return "unknown";
}

std::string_view to_string(VersionState state) noexcept {
  switch (state) {
    case VersionState::serving:
      return "serving";
    case VersionState::probation:
      return "probation";
    case VersionState::previous:
      return "previous";
    case VersionState::draining:
      return "draining";
  }
  return "unknown";
}

std::string_view to_string(SlotEventKind kind) noexcept {
  switch (kind) {
    case SlotEventKind::loaded:
      return "loaded";
    case SlotEventKind::swapped:
      return "swapped";
    case SlotEventKind::refused:
      return "refused";
    case SlotEventKind::rolled_back:
      return "rolled_back";
    case SlotEventKind::committed:
      return "committed";
    case SlotEventKind::draining:
      return "draining";
    case SlotEventKind::unloaded:
      return "unloaded";
    case SlotEventKind::stayed_mapped:
      return "stayed_mapped";
  }
  return "unknown";
}

}  // namespace graft
