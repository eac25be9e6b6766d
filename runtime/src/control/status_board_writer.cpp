#include "status_board_writer.hpp"

#include "board_layout.hpp"

#include <graft/status.hpp>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <new>
#include <random>

namespace graft::control {
namespace {

namespace bip = boost::interprocess;

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

struct StatusBoardWriter::Mapping {
  bip::shared_memory_object shm;
  bip::mapped_region region;
  board::Layout* layout = nullptr;
};

StatusBoardWriter::StatusBoardWriter(std::string shm_name) : name_(std::move(shm_name)) {
  // A board of this name is a dead host's (the name holds our pid) if it is
  // ours; another user's is a squatter's, never removed or written.
  struct stat st {};
  if (::lstat(("/dev/shm/" + name_).c_str(), &st) == 0 && st.st_uid != ::geteuid()) {
    throw Error(Status(ErrorCode::io_error, "status board name '" + name_ + "' is taken by uid " +
                                                std::to_string(st.st_uid)));
  }
  try {
    bip::shared_memory_object::remove(name_.c_str());
    bip::permissions owner_only(0600);
    auto m = std::make_unique<Mapping>();
    m->shm =
        bip::shared_memory_object(bip::create_only, name_.c_str(), bip::read_write, owner_only);
    m->shm.truncate(sizeof(board::Layout));
    m->region = bip::mapped_region(m->shm, bip::read_write, 0, sizeof(board::Layout));
    // ftruncate gave zeroed pages: every seq starts even, every text empty.
    m->layout = static_cast<board::Layout*>(m->region.get_address());
    m->layout->layout_version = board::kLayoutVersion;
    m->layout->size = sizeof(board::Layout);
    std::atomic_ref<std::uint32_t>(m->layout->magic)
        .store(board::kMagic, std::memory_order_release);
    mapping_ = std::move(m);
  } catch (const bip::interprocess_exception& e) {
    bip::shared_memory_object::remove(name_.c_str());
    throw Error(
        Status(ErrorCode::io_error, "cannot create status board '" + name_ + "': " + e.what()));
  }
}

std::unique_ptr<StatusBoardWriter> StatusBoardWriter::create(const std::string& preferred,
                                                             std::string* warning) {
  std::string why;
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::string name = preferred;
    if (attempt > 0) {
      std::random_device random;
      char suffix[20];
      std::snprintf(suffix, sizeof suffix, ".%08x%08x", random(), random());
      name += suffix;
    }
    try {
      auto board = std::make_unique<StatusBoardWriter>(name);
      if (!why.empty()) *warning = why + "; using '" + name + "' instead";
      return board;
    } catch (const Error& e) {
      why += (why.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  *warning = why + "; running without a status board";
  return nullptr;
}

StatusBoardWriter::~StatusBoardWriter() {
  mapping_.reset();
  bip::shared_memory_object::remove(name_.c_str());
}

void StatusBoardWriter::publish(const BoardSnapshot& s) {
  board::Layout& layout = *mapping_->layout;
  const std::size_t components = std::min(s.components.size(), board::kMaxComponents);
  const std::size_t pending = std::min(s.pending.size(), board::kMaxPending);

  for (std::size_t i = 0; i < components; ++i) {
    const BoardComponent& c = s.components[i];
    board::ComponentPayload p{};
    p.calls = c.calls;
    p.errors = c.errors;
    p.in_flight = c.in_flight;
    p.probation_left_ms = static_cast<std::uint64_t>(
        std::max<std::int64_t>(0, static_cast<std::int64_t>(c.probation_left.count())));
    board::put_text(p.name, c.name);
    board::put_text(p.interface_id, c.interface_id);
    board::put_text(p.version, c.version);
    board::put_text(p.previous_version, c.previous_version);
    board::put_text(p.state, c.state);
    board::put_text(p.last_event, c.last_event);
    board::write_record(layout.components[i], p);
  }
  for (std::size_t i = 0; i < pending; ++i) {
    const BoardPending& b = s.pending[i];
    board::PendingPayload p{};
    board::put_text(p.bundle, b.bundle);
    board::put_text(p.component, b.component);
    board::put_text(p.version, b.version);
    board::put_text(p.path, b.path);
    board::write_record(layout.pending[i], p);
  }
  // The host record last: its counts say which of the records above to read.
  board::HostPayload h{};
  h.pid = static_cast<std::uint64_t>(s.pid);
  h.process_start_ticks = s.process_start_ticks;
  h.started_unix_ms = unix_ms(s.started);
  h.refreshed_unix_ms = unix_ms(s.refreshed);
  h.refreshes = s.refreshes;
  h.flags = (s.auto_install ? board::kFlagAutoInstall : 0) | (s.has_inbox ? board::kFlagInbox : 0);
  h.component_count = components;
  h.pending_count = pending;
  board::put_text(h.name, s.name);
  board::write_record(layout.host, h);
}

}  // namespace graft::control
