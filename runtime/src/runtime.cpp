#include <graft/runtime.hpp>

#include "slot_impl.hpp"
#include "state_dir_lock.hpp"
#include "thread_registry.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <pthread.h>

#include <bitset>
#include <condition_variable>
#include <new>
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

std::size_t indices_in_use() {
  std::lock_guard lock(g_index_mu);
  return g_index_used.count();
}

}  // namespace

namespace detail {

void RuntimeShared::emit(const SlotEvent& event) const noexcept {
  try {
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
      } catch (...) {
        // Anything at all (an int, a forced unwind is not one of these: a
        // listener does not run inside a component call).
        logger->error("event listener threw something that is not a std::exception");
      }
    }
  } catch (...) {
    // Out of memory copying the list: the event is not delivered, the slot
    // is unharmed.
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
    if (!housekeeper_running && !stopping) {
      housekeeper = std::thread(housekeep_loop);
      housekeeper_running = true;
    }
  }
  housekeeper_cv.notify_one();
}

void RuntimeShared::stop_housekeeper() {
  {
    std::lock_guard lock(housekeeper_mu);
    stopping = true;
  }
  housekeeper_cv.notify_all();
  if (housekeeper.joinable()) housekeeper.join();
}

void RuntimeShared::before_fork() noexcept {
  housekeeper_mu.lock();
  listeners_mu.lock();
}

void RuntimeShared::after_fork_parent() noexcept {
  listeners_mu.unlock();
  housekeeper_mu.unlock();
}

void RuntimeShared::after_fork_child() noexcept {
  // The housekeeper thread is not in the child: forget its handle without
  // joining it (placement new over the old handle), and start a new one on
  // the next wake. A fresh condition: the old one counts a waiter that is
  // gone, and glibc would wait for it when it is destroyed.
  new (&housekeeper) std::thread();
  housekeeper_running = false;
  new (&housekeeper_cv) std::condition_variable();
  listeners_mu.unlock();
  housekeeper_mu.unlock();
}

}  // namespace detail

struct Runtime::Impl {
  // First in, last out: the folder stays this host's until all else is gone.
  std::unique_ptr<detail::StateDirLock> state_dir_lock;
  detail::RuntimeShared shared;
  mutable std::mutex slots_mu;
  std::vector<std::unique_ptr<SlotCore>> slots;

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
      if (shared.stopping) return;
      if (work) {
        shared.housekeeper_cv.wait_for(lock, shared.options.housekeeping_interval,
                                       [this] { return shared.stopping; });
      } else {
        shared.housekeeper_cv.wait(lock,
                                   [this] { return shared.stopping || shared.housekeeper_wake; });
      }
      shared.housekeeper_wake = false;
      if (shared.stopping) return;
    }
  }

  void before_fork() noexcept {
    slots_mu.lock();
    for (auto& s : slots)
      s->impl_->before_fork();
    shared.before_fork();
  }
  void after_fork_parent() noexcept {
    shared.after_fork_parent();
    for (auto& s : slots)
      s->impl_->after_fork_parent();
    slots_mu.unlock();
  }
  void after_fork_child() noexcept {
    shared.after_fork_child();
    for (auto& s : slots)
      s->impl_->after_fork_child();
    slots_mu.unlock();
  }
};

namespace {

// Every live runtime, for the fork handlers. The parent holds each
// runtime's locks over a fork (so the child never sees a swap half done),
// and the child frees the other threads' records and restarts housekeeping.
std::mutex g_runtimes_mu;
std::vector<Runtime::Impl*>& runtimes() {
  static auto* list = new std::vector<Runtime::Impl*>();  // outlives static destruction
  return *list;
}

void before_fork() {
  g_runtimes_mu.lock();
  for (auto* r : runtimes())
    r->before_fork();
  detail::registry_before_fork();
}

void after_fork_parent() {
  detail::registry_after_fork_parent();
  for (auto* r : runtimes())
    r->after_fork_parent();
  g_runtimes_mu.unlock();
}

void after_fork_child() {
  detail::registry_after_fork_child();
  for (auto* r : runtimes())
    r->after_fork_child();
  g_runtimes_mu.unlock();
}

void install_fork_handlers() {
  static const bool installed =
      pthread_atfork(&before_fork, &after_fork_parent, &after_fork_child) == 0;
  (void)installed;
}

void log_barrier_once(spdlog::logger& log) {
  static std::once_flag once;
  std::call_once(once, [&] {
    const auto mode = detail::barrier_mode();
    if (mode == detail::BarrierMode::fence) {
      log.warn(
          "call gate: {}; callers pay a full fence per call instead of the reloader's "
          "membarrier",
          detail::barrier_mode_reason());
    } else {
      log.debug("call gate: barrier mode {}", detail::to_string(mode));
    }
  });
}

}  // namespace

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
  log_barrier_once(*shared.logger);
  impl_->state_dir_lock = std::make_unique<detail::StateDirLock>(shared.options.state_dir);
  shared.store = std::make_unique<ArtifactStore>(shared.options.state_dir / "store");
  shared.housekeep_loop = [impl = impl_.get()] { impl->housekeep_loop(); };
  install_fork_handlers();
  std::lock_guard lock(g_runtimes_mu);
  runtimes().push_back(impl_.get());
}

std::unique_ptr<Runtime> Runtime::open(RuntimeOptions options) {
  return std::unique_ptr<Runtime>(new Runtime(std::move(options)));
}

Runtime::~Runtime() {
  {
    std::lock_guard lock(g_runtimes_mu);
    auto& list = runtimes();
    list.erase(std::remove(list.begin(), list.end(), impl_.get()), list.end());
  }
  impl_->shared.stop_housekeeper();
  std::lock_guard lock(impl_->slots_mu);
  for (auto& s : impl_->slots) {
    s->impl_->shutdown();
    const std::uint32_t index = s->gate_.index();
    const bool clean = s->impl_->fully_unloaded();
    s.reset();
    // A call still inside a version left mapped will count itself at this
    // index when it returns: the index is never handed to another slot.
    if (clean) give_index(index);
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
                           std::to_string(indices_in_use()) + " slots in use, the most it can " +
                           "have is " + std::to_string(detail::kMaxSlots) + " (graft::kMaxSlots)"));
  }
  try {
    impl_->slots.push_back(factory(impl_->shared, std::move(spec), index));
  } catch (...) {
    give_index(index);
    throw;
  }
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
