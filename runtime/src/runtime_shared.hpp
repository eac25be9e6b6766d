// What every slot of a runtime shares: options, logger, store, listeners,
// and the housekeeper thread that reaps drained versions and ends probation.
#pragma once

#include <graft/artifact_store.hpp>
#include <graft/runtime.hpp>
#include <graft/slot_event.hpp>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace graft::detail {

struct RuntimeShared {
  RuntimeOptions options;
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<ArtifactStore> store;

  // Calls every listener; one that throws anything is logged and skipped.
  void emit(const SlotEvent& event) const noexcept;
  void add_listener(Runtime::Listener listener);
  // Wakes the housekeeper (a slot has draining versions or probation),
  // starting it if it is not running (first use, or in a forked child).
  void wake_housekeeper();
  // Stops and joins the housekeeper.
  void stop_housekeeper();

  std::function<void()> housekeep_loop;  // set by the runtime before any wake

  mutable std::mutex listeners_mu;
  std::vector<Runtime::Listener> listeners;
  std::mutex housekeeper_mu;
  std::condition_variable housekeeper_cv;
  bool housekeeper_wake = false;  // guarded by housekeeper_mu
  bool stopping = false;          // guarded by housekeeper_mu
  bool housekeeper_running = false;
  std::thread housekeeper;

  void before_fork() noexcept;
  void after_fork_parent() noexcept;
  void after_fork_child() noexcept;
};

}  // namespace graft::detail
