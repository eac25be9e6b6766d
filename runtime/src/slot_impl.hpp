// The reloader's side of a slot, and the one owner of its versions' lives.
//
//            swap / load             swap (probation)          commit / next swap
//   Loaded ───────────────► Serving ─────────────────► Retained ─────────────────► Draining
//     │  prepare fails                 │ swap (no probation),        │ rollback           │
//     │  (never published)             │ rollback away from it       ▼                    │ reaper:
//     barrier + ▼                                └──────────────────────► Draining ◄── Serving │
//     scan find no call
//   Unmapped ◄────────────────────────────────────────────────────────────────────────────┘
//
// Every operation is a prepare step that may fail and changes nothing the
// callers or the status can see, then a noexcept commit step. Only `reap`
// unmaps, and only a version that was never published or that the barrier
// and the hazard scan found empty; no destructor unmaps. Events raised under
// the reload lock go out (log, listeners) after it is released, in the order
// the slot raised them ([E1] in slot_impl.cpp).
//
// Reloads of one slot are serialised by `reload_mu_`; status readers take
// only `state_mu_`, so a swap that waits on a drain never blocks them.
#pragma once

#include <graft/slot.hpp>

#include "loaded_component.hpp"
#include "runtime_shared.hpp"
#include "store_hold.hpp"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace graft::detail {

class SlotImpl {
 public:
  SlotImpl(CallGate& gate, RuntimeShared& shared, SlotSpec spec);
  ~SlotImpl();  // never unmaps: shutdown() does, explicitly
  // Unpublishes, waits for the drain up to the deadline, unmaps what drained
  // and leaves mapped (never freed) any version a call is still inside.
  void shutdown();

  const SlotSpec& spec() const noexcept { return spec_; }
  Status load(const std::filesystem::path& file, const SwapOptions& options);
  Status swap(const std::filesystem::path& file, const SwapOptions& options);
  Status load_artifact(const Artifact& artifact, const SwapOptions& options);
  Status rollback(std::string_view by, SwapMode mode);
  Status commit(std::string_view by);
  SlotStatus status() const;
  std::optional<Version> serving_version() const;
  // False when a version had to be left mapped at destruction (a call was
  // inside): its gate index must then never be reused.
  bool fully_unloaded() const noexcept { return fully_unloaded_; }

  // Background work: unload drained versions, end or fail probation.
  // Returns true while work remains.
  bool housekeep(std::chrono::steady_clock::time_point now);

  void before_fork() noexcept;
  void after_fork_parent() noexcept;
  void after_fork_child() noexcept;

 private:
  using Clock = std::chrono::steady_clock;
  using Component = std::unique_ptr<LoadedComponent>;

  // Runs `op` under the reload lock, then sends the events it raised.
  template <class Op>
  Status reloading(Op&& op);

  Status refuse_reentrant(const std::string& what, const std::string& by,
                          const std::string& artifact);
  Status open_file(const std::filesystem::path& file, const SwapOptions& options, Component* out);
  Status open_artifact(const Artifact& artifact, const SwapOptions& options, Component* out);
  Status swap_locked(Component next, const SwapOptions& options);
  // Prepare for a change of the serving version: in quiesce mode, closes the
  // gate, drains the serving version and moves its state into `next`. On
  // failure the gate is open on the serving version again.
  Status move_state(LoadedComponent& next, SwapMode mode);
  // Commit: publishes `next` (null: the retained previous version); the
  // serving version becomes `previous_` (retain) or drains. noexcept.
  void commit_switch(Component next, SwapMode mode, bool retain_old, SlotEventKind kind,
                     const std::string& by, const std::string& note) noexcept;
  Status rollback_locked(const std::string& by, SwapMode mode);
  Status commit_locked(const std::string& by);
  // Never-published candidate: unmapped at once.
  void discard(Component candidate, const std::string& by);
  // The only place a published version is unmapped.
  void reap(const std::string& by);
  void unload(Component old, const std::string& by);
  Status refuse(Status status, const std::string& by, const std::string& artifact);
  void forget_artifact_if_unused(const Artifact& artifact);
  SwapMode resolve(SwapMode mode, const LoadedComponent& from, const LoadedComponent& to) const;
  void raise(SlotEvent event);
  // Under the reload lock: the events `op` raised, with their place in line.
  // The reload's holds on the store copies it loaded go with its events:
  // dropped once they were heard (and the Installer records the copies).
  struct Batch {
    std::vector<SlotEvent> events;
    std::uint64_t ticket = 0;
    std::vector<StoreHold> holds;
  };
  Batch take_outbox();
  // After the reload lock: waits for the batch's turn, then sends it.
  void deliver(Batch& batch) noexcept;
  // Under turn_mu_: moves the turn past tickets already delivered out of turn.
  void skip_done_early_locked();
  void send(std::vector<SlotEvent>& events) noexcept;
  void log_event(const SlotEvent& e) const noexcept;

  CallGate& gate_;
  RuntimeShared& shared_;
  const SlotSpec spec_;
  std::uint64_t calls_base_ = 0;  // counters a former slot left at this index
  std::uint64_t errors_base_ = 0;
  bool fully_unloaded_ = true;

  std::mutex reload_mu_;
  std::vector<SlotEvent> outbox_;     // guarded by reload_mu_
  std::uint64_t tickets_issued_ = 0;  // guarded by reload_mu_
  std::vector<StoreHold> op_holds_;   // guarded by reload_mu_: this reload's store copies
  // Delivery turns: batches go to listeners in ticket order ([E1]).
  std::mutex turn_mu_;
  std::condition_variable turn_cv_;
  std::uint64_t turn_ = 0;                 // guarded by turn_mu_: the next ticket to deliver
  std::vector<std::uint64_t> done_early_;  // guarded by turn_mu_: delivered out of turn
  bool auto_rollback_failed_ = false;      // guarded by reload_mu_
  mutable std::mutex state_mu_;
  // Guarded by state_mu_ (written only with reload_mu_ held too).
  Component current_;   // Serving
  Component previous_;  // Retained: kept loaded during probation
  bool probation_ = false;
  Clock::time_point probation_end_{};
  std::vector<Component> draining_;  // Draining: unpublished, maybe still called
  std::vector<std::string> stayed_mapped_;
  // After a commit: what an explicit rollback reloads from the store.
  struct RollbackTarget {
    RollbackTarget(const LoadedComponent& c, const ArtifactStore& store)
        : artifact(c.artifact()), version(c.version()), hold(store, artifact.sha256) {}
    Artifact artifact;
    Version version;
    StoreHold hold;  // the copy it reloads stays in the store
  };
  std::optional<RollbackTarget> rollback_target_;
  std::string last_event_;
};

}  // namespace graft::detail
