// The reloader's side of a slot: loading, swapping, draining, probation.
// Reloads of one slot are serialised by `reload_mu_`; status readers take
// only `state_mu_`, so a swap that waits on a drain never blocks them.
#pragma once

#include <graft/slot.hpp>

#include "loaded_component.hpp"
#include "runtime_shared.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace graft::detail {

class SlotImpl {
 public:
  SlotImpl(CallGate& gate, RuntimeShared& shared, SlotSpec spec);
  ~SlotImpl();

  const SlotSpec& spec() const noexcept { return spec_; }
  Status load(const std::filesystem::path& file, const SwapOptions& options);
  Status swap(const std::filesystem::path& file, const SwapOptions& options);
  Status load_artifact(const Artifact& artifact, const SwapOptions& options);
  Status rollback(std::string_view by, SwapMode mode);
  Status commit(std::string_view by);
  SlotStatus status() const;
  std::optional<Version> serving_version() const;

  // Background work: unload drained versions, end or fail probation.
  // Returns true while work remains.
  bool housekeep(std::chrono::steady_clock::time_point now);

 private:
  using Clock = std::chrono::steady_clock;
  using Component = std::unique_ptr<LoadedComponent>;

  Status open_file(const std::filesystem::path& file, const SwapOptions& options, Component* out);
  Status open_artifact(const Artifact& artifact, const SwapOptions& options, Component* out);
  Status swap_locked(Component next, const SwapOptions& options);
  // Publishes `next` in place of the current version; the old one becomes
  // `previous_` (retain) or is drained and unloaded.
  Status switch_to(Component next, SwapMode mode, bool retain_old, SlotEventKind kind,
                   const std::string& by);
  Status rollback_locked(const std::string& by, SwapMode mode);
  Status commit_locked(const std::string& by);
  void end_probation_locked();
  void retire(Component old);
  void unload(Component old, const std::string& by);
  Status refuse(Status status, const std::string& by, const std::string& artifact);
  void forget_artifact_if_unused(const Artifact& artifact);
  void note(const SlotEvent& event);

  CallGate& gate_;
  RuntimeShared& shared_;
  const SlotSpec spec_;
  std::uint64_t calls_base_ = 0;  // counters a former slot left at this index
  std::uint64_t errors_base_ = 0;

  std::mutex reload_mu_;
  mutable std::mutex state_mu_;
  // Guarded by state_mu_ (written only with reload_mu_ held too).
  Component current_;
  Component previous_;  // kept during probation
  bool probation_ = false;
  Clock::time_point probation_end_{};
  std::vector<Component> draining_;
  std::vector<std::string> stayed_mapped_;
  std::optional<Artifact> rollback_artifact_;  // after a commit: where rollback reloads from
  std::string last_event_;
};

}  // namespace graft::detail
