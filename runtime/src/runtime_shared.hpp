// What every slot of a runtime shares: options, logger, store, listeners.
#pragma once

#include <graft/artifact_store.hpp>
#include <graft/runtime.hpp>
#include <graft/slot_event.hpp>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

namespace graft::detail {

struct RuntimeShared {
  RuntimeOptions options;
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<ArtifactStore> store;

  void emit(const SlotEvent& event) const;
  void add_listener(Runtime::Listener listener);
  // Wakes the housekeeper (a slot has draining versions or probation).
  void wake_housekeeper();

  mutable std::mutex listeners_mu;
  std::vector<Runtime::Listener> listeners;
  std::mutex housekeeper_mu;
  std::condition_variable housekeeper_cv;
  bool housekeeper_wake = false;
};

}  // namespace graft::detail
