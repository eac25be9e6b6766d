#include "board_layout.hpp"

#include <graft/status_board.hpp>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include <algorithm>
#include <thread>

namespace graft {
namespace {

namespace bip = boost::interprocess;

// A write takes well under a microsecond, but the host's thread can be
// descheduled in the middle of one: spin a little, then sleep and retry,
// and give up only on a board whose host died mid-write.
constexpr int kSpins = 1000;
constexpr auto kGiveUpAfter = std::chrono::milliseconds(500);

template <class Payload>
bool read_patiently(const control::board::Record<Payload>& r, Payload* out) {
  const auto until = std::chrono::steady_clock::now() + kGiveUpAfter;
  for (;;) {
    if (control::board::read_record(r, out, kSpins)) return true;
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

std::chrono::system_clock::time_point from_unix_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

std::optional<BoardSnapshot> fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return std::nullopt;
}

}  // namespace

std::optional<BoardSnapshot> read_status_board(const std::string& shm_name, std::string* error) {
  namespace board = control::board;
  try {
    bip::shared_memory_object shm(bip::open_only, shm_name.c_str(), bip::read_only);
    bip::offset_t size = 0;
    if (!shm.get_size(size) || size < static_cast<bip::offset_t>(sizeof(board::Layout))) {
      return fail(error, "status board '" + shm_name + "' is not (yet) a board");
    }
    bip::mapped_region region(shm, bip::read_only, 0, sizeof(board::Layout));
    const auto& layout = *static_cast<const board::Layout*>(region.get_address());
    auto& magic = const_cast<std::uint32_t&>(layout.magic);
    if (std::atomic_ref<std::uint32_t>(magic).load(std::memory_order_acquire) != board::kMagic) {
      return fail(error, "status board '" + shm_name + "' is not (yet) a board");
    }
    if (layout.layout_version != board::kLayoutVersion) {
      return fail(error, "status board '" + shm_name + "' has layout " +
                             std::to_string(layout.layout_version) + ", this reader knows " +
                             std::to_string(board::kLayoutVersion));
    }
    board::HostPayload h{};
    if (!read_patiently(layout.host, &h)) {
      return fail(error, "status board '" + shm_name + "' stays mid-write");
    }
    BoardSnapshot s;
    s.pid = static_cast<int>(h.pid);
    s.process_start_ticks = h.process_start_ticks;
    s.name = std::string(board::get_text(h.name));
    s.started = from_unix_ms(h.started_unix_ms);
    s.refreshed = from_unix_ms(h.refreshed_unix_ms);
    s.refreshes = h.refreshes;
    s.auto_install = (h.flags & board::kFlagAutoInstall) != 0;
    s.has_inbox = (h.flags & board::kFlagInbox) != 0;
    const std::size_t components =
        std::min<std::uint64_t>(h.component_count, board::kMaxComponents);
    for (std::size_t i = 0; i < components; ++i) {
      board::ComponentPayload p{};
      if (!read_patiently(layout.components[i], &p)) {
        return fail(error, "status board '" + shm_name + "' stays mid-write");
      }
      BoardComponent c;
      c.name = std::string(board::get_text(p.name));
      c.interface_id = std::string(board::get_text(p.interface_id));
      c.version = std::string(board::get_text(p.version));
      c.previous_version = std::string(board::get_text(p.previous_version));
      c.state = std::string(board::get_text(p.state));
      c.last_event = std::string(board::get_text(p.last_event));
      c.calls = p.calls;
      c.errors = p.errors;
      c.in_flight = p.in_flight;
      c.probation_left = std::chrono::milliseconds(p.probation_left_ms);
      s.components.push_back(std::move(c));
    }
    const std::size_t pending = std::min<std::uint64_t>(h.pending_count, board::kMaxPending);
    for (std::size_t i = 0; i < pending; ++i) {
      board::PendingPayload p{};
      if (!read_patiently(layout.pending[i], &p)) {
        return fail(error, "status board '" + shm_name + "' stays mid-write");
      }
      s.pending.push_back(
          {std::string(board::get_text(p.bundle)), std::string(board::get_text(p.component)),
           std::string(board::get_text(p.version)), std::string(board::get_text(p.path))});
    }
    return s;
  } catch (const bip::interprocess_exception& e) {
    return fail(error, "cannot open status board '" + shm_name + "': " + e.what());
  }
}

}  // namespace graft
