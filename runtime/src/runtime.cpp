#include <graft/runtime.hpp>

#include "slot_impl.hpp"
#include "state_dir_lock.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <bitset>
#include <condition_variable>
#include <thread>

namespace graft {
namespace {

// Slot indices select the per-thread counters, which are process-wide.
std::mutex g_index_mu;
std::bitset<detail::kMaxSlots> g_index_used;

bool take_index(std::uint32_t* out) {
  std::lock_guard lock(g_index_mu);
  for (std::uint32_t i = 0; i < detail::kMaxSlots; ++i) {
    if (!g_index_used[i]) {
      g_index_used[i] = true;
      *out = i;
      return true;
    }
  }
  return false;
}

void give_index(std::uint32_t i) {
  std::lock_guard lock(g_index_mu);
  g_index_used[i] = false;
}

}  // namespace

namespace detail {

void RuntimeShared::emit(const SlotEvent& event) const {
  std::vector<Runtime::Listener> copy;
  {
    std::lock_guard lock(listeners_mu);
    copy = listeners;
  }
  for (const auto& l : copy) {
    try {
      l(event);
    } catch (const std::exception& e) {
      logger->error("event listener threw: {}", e.what());
    }
  }
}

void RuntimeShared::add_listener(Runtime::Listener listener) {
  std::lock_guard lock(listeners_mu);
  listeners.push_back(std::move(listener));
}

void RuntimeShared::wake_housekeeper() {
  {
    std::lock_guard lock(housekeeper_mu);
    housekeeper_wake = true;
  }
  housekeeper_cv.notify_one();
}

}  // namespace detail

struct Runtime::Impl {
  // First in, last out: the folder stays this host's until all else is gone.
  std::unique_ptr<detail::StateDirLock> state_dir_lock;
  detail::RuntimeShared shared;
  mutable std::mutex slots_mu;
  std::vector<std::unique_ptr<SlotCore>> slots;
  std::thread housekeeper;
  bool stopping = false;  // guarded by shared.housekeeper_mu

  std::vector<SlotCore*> slot_list() const {
    std::lock_guard lock(slots_mu);
    std::vector<SlotCore*> out;
    for (const auto& s : slots)
      out.push_back(s.get());
    return out;
  }

  void housekeep_loop() {
    for (;;) {
      bool work = false;
      const auto now = std::chrono::steady_clock::now();
      for (SlotCore* s : slot_list())
        work |= s->impl_->housekeep(now);
      std::unique_lock lock(shared.housekeeper_mu);
      if (stopping) return;
      if (work) {
        shared.housekeeper_cv.wait_for(lock, shared.options.housekeeping_interval,
                                       [this] { return stopping; });
      } else {
        shared.housekeeper_cv.wait(lock, [this] { return stopping || shared.housekeeper_wake; });
      }
      shared.housekeeper_wake = false;
      if (stopping) return;
    }
  }
};

Runtime::Runtime(RuntimeOptions options) : impl_(std::make_unique<Impl>()) {
  auto& shared = impl_->shared;
  shared.options = std::move(options);
  shared.logger = shared.options.logger;
  if (!shared.logger) {
    shared.logger = std::make_shared<spdlog::logger>(
        "graft", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  }
  if (shared.options.state_dir.empty()) {
    throw Error(Status(ErrorCode::invalid_argument, "RuntimeOptions.state_dir is empty"));
  }
  impl_->state_dir_lock = std::make_unique<detail::StateDirLock>(shared.options.state_dir);
  shared.store = std::make_unique<ArtifactStore>(shared.options.state_dir / "store");
  impl_->housekeeper = std::thread([this] { impl_->housekeep_loop(); });
}

std::unique_ptr<Runtime> Runtime::open(RuntimeOptions options) {
  return std::unique_ptr<Runtime>(new Runtime(std::move(options)));
}

Runtime::~Runtime() {
  {
    std::lock_guard lock(impl_->shared.housekeeper_mu);
    impl_->stopping = true;
  }
  impl_->shared.housekeeper_cv.notify_all();
  if (impl_->housekeeper.joinable()) impl_->housekeeper.join();
  std::lock_guard lock(impl_->slots_mu);
  for (auto& s : impl_->slots) {
    const std::uint32_t index = s->gate_.index();
    s.reset();
    give_index(index);
  }
}

SlotCore& Runtime::declare(SlotSpec spec, SlotFactory factory) {
  std::lock_guard lock(impl_->slots_mu);
  for (auto& s : impl_->slots) {
    if (s->component() != spec.component) continue;
    const SlotSpec& have = s->spec();
    if (have.interface_id != spec.interface_id || have.interface_major != spec.interface_major ||
        have.table_size != spec.table_size) {
      throw Error(Status(ErrorCode::slot_mismatch,
                         "component '" + spec.component + "' is already declared with interface '" +
                             have.interface_id + "' v" + std::to_string(have.interface_major)));
    }
    return *s;
  }
  std::uint32_t index = 0;
  if (!take_index(&index)) {
    throw Error(Status(ErrorCode::too_many_slots,
                       "cannot declare component '" + spec.component + "': the process has " +
                           std::to_string(detail::kMaxSlots) + " slots already"));
  }
  impl_->slots.push_back(factory(impl_->shared, std::move(spec), index));
  return *impl_->slots.back();
}

SlotCore* Runtime::find(std::string_view component) noexcept {
  std::lock_guard lock(impl_->slots_mu);
  for (auto& s : impl_->slots) {
    if (s->component() == component) return s.get();
  }
  return nullptr;
}

std::vector<SlotStatus> Runtime::status() const {
  std::vector<SlotStatus> out;
  for (SlotCore* s : impl_->slot_list())
    out.push_back(s->status());
  return out;
}

void Runtime::on_event(Listener listener) {
  impl_->shared.add_listener(std::move(listener));
}

const RuntimeOptions& Runtime::options() const noexcept {
  return impl_->shared.options;
}

ArtifactStore& Runtime::store() noexcept {
  return *impl_->shared.store;
}

spdlog::logger& Runtime::logger() noexcept {
  return *impl_->shared.logger;
}

}  // namespace graft
