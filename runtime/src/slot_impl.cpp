#include "slot_impl.hpp"

#include "thread_registry.hpp"

#include <spdlog/spdlog.h>

#include <pthread.h>

#include <algorithm>
#include <new>

namespace graft::detail {
namespace {

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts)
    out += (out.empty() ? "" : ", ") + p;
  return out;
}

// Versions left mapped because a call was still inside them when their slot
// went: kept, reachable, for the life of the process (the returning call
// touches their cell; a leak checker must not call them lost).
void keep_forever(std::unique_ptr<LoadedComponent> c) {
  static std::mutex mu;
  static auto* kept = new std::vector<std::unique_ptr<LoadedComponent>>();
  std::lock_guard lock(mu);
  kept->push_back(std::move(c));
}

// The slots whose events this thread is sending now, innermost first (a
// listener's own reload of one of them runs inside that delivery).
struct Delivering {
  const SlotImpl* slot;
  const Delivering* outer;
};
thread_local const Delivering* t_delivering = nullptr;

bool delivering(const SlotImpl* slot) {
  for (const Delivering* d = t_delivering; d != nullptr; d = d->outer) {
    if (d->slot == slot) return true;
  }
  return false;
}

bool is_state_failure(ErrorCode code) {
  return code == ErrorCode::state_unsupported || code == ErrorCode::state_export_failed ||
         code == ErrorCode::state_import_failed;
}

}  // namespace

SlotImpl::SlotImpl(CallGate& gate, RuntimeShared& shared, SlotSpec spec)
    : gate_(gate), shared_(shared), spec_(std::move(spec)) {
  gate_.totals(&calls_base_, &errors_base_);
}

SlotImpl::~SlotImpl() = default;

void SlotImpl::shutdown() {
  std::lock_guard reload(reload_mu_);
  gate_.publish(nullptr);
  std::vector<Component> all;
  {
    std::lock_guard state(state_mu_);
    if (current_) all.push_back(std::move(current_));
    if (previous_) all.push_back(std::move(previous_));
    for (auto& c : draining_)
      all.push_back(std::move(c));
    draining_.clear();
  }
  const auto deadline = Clock::now() + shared_.options.drain_deadline;
  for (auto& c : all) {
    if (gate_.wait_drained(&c->cell(), deadline)) {
      unload(std::move(c), "shutdown");
    } else {
      // Never unmap code that may still run: leave it loaded, and its cell
      // (which the returning call touches) alive.
      shared_.logger->error("{}: call(s) still inside at shutdown ({}); left loaded", c->describe(),
                            join(threads_inside(&c->cell())));
      fully_unloaded_ = false;
      keep_forever(std::move(c));
    }
  }
  // The log lines are written; listeners are not called while the runtime goes.
  outbox_.clear();
}

template <class Op>
Status SlotImpl::reloading(Op&& op) {
  Batch batch;
  Status s;
  {
    std::lock_guard reload(reload_mu_);
    s = op();
    batch = take_outbox();
  }
  deliver(batch);
  return s;
}

SlotImpl::Batch SlotImpl::take_outbox() {
  Batch b;
  b.events.swap(outbox_);
  if (!b.events.empty()) b.ticket = tickets_issued_++;  // [E1] the batch's place in line
  b.holds.swap(op_holds_);
  return b;
}

// [E1] A slot's events reach the listeners in the order the slot raised them,
// each batch on the thread that raised it. A batch takes its ticket under the
// reload lock (take_outbox), so ticket order is the order of the reloads; it
// is sent once every earlier ticket has been (partner: the turn's advance at
// the end of this function). Without this a thread preempted between the
// reload lock and its listeners let a later reload be heard first, and the
// Installer, which keeps the installed state from these events, recorded a
// version the slot no longer served and pruned the store copy the slot would
// roll back to (EventOrderTest.*, the soak's rollbacks).
void SlotImpl::deliver(Batch& batch) noexcept {
  if (batch.events.empty()) return;
  if (delivering(this)) {
    // A listener's own reload of this slot: this thread holds the turn, and
    // waiting for its ticket would be waiting for itself. Sent now, inside
    // the event that caused it; the turn passes over its ticket.
    send(batch.events);
    std::lock_guard turn(turn_mu_);
    done_early_.push_back(batch.ticket);
    skip_done_early_locked();  // only ever moves here when a fork reset the line
    return;
  }
  {
    // A cancellation point in a noexcept function would end the process.
    int cancel_state = 0;
    ::pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    std::unique_lock turn(turn_mu_);
    turn_cv_.wait(turn, [&] { return turn_ == batch.ticket; });
    ::pthread_setcancelstate(cancel_state, nullptr);
  }
  const Delivering here{this, t_delivering};
  t_delivering = &here;
  send(batch.events);
  t_delivering = here.outer;
  {
    std::lock_guard turn(turn_mu_);
    if (turn_ == batch.ticket) {  // not so after a fork reset the line (after_fork_child)
      ++turn_;
      skip_done_early_locked();
    }
  }
  turn_cv_.notify_all();
}

void SlotImpl::skip_done_early_locked() {
  while (std::erase(done_early_, turn_) > 0)
    ++turn_;
}

Status SlotImpl::refuse_reentrant(const std::string& what, const std::string& by,
                                  const std::string& artifact) {
  return refuse(Status(ErrorCode::reentrant_swap, "component '" + spec_.component + "': " + what +
                                                      " requested from inside a call into this "
                                                      "slot (the drain would wait for the caller "
                                                      "itself)"),
                by, artifact);
}

Status SlotImpl::load(const std::filesystem::path& file, const SwapOptions& options) {
  return reloading([&] {
    if (const auto serving = serving_version()) {
      return refuse(Status(ErrorCode::already_loaded, "component '" + spec_.component +
                                                          "': already serving " +
                                                          serving->to_string() + "; use swap"),
                    options.by, file.string());
    }
    Component next;
    if (Status s = open_file(file, options, &next); !s) return refuse(s, options.by, file.string());
    return swap_locked(std::move(next), options);
  });
}

Status SlotImpl::swap(const std::filesystem::path& file, const SwapOptions& options) {
  return reloading([&] {
    if (gate_.held_by_this_thread()) return refuse_reentrant("swap", options.by, file.string());
    Component next;
    if (Status s = open_file(file, options, &next); !s) return refuse(s, options.by, file.string());
    return swap_locked(std::move(next), options);
  });
}

Status SlotImpl::load_artifact(const Artifact& artifact, const SwapOptions& options) {
  return reloading([&] {
    if (gate_.held_by_this_thread()) {
      return refuse_reentrant("install", options.by, artifact.path.string());
    }
    Component next;
    if (Status s = open_artifact(artifact, options, &next); !s) {
      return refuse(s, options.by, artifact.path.string());
    }
    return swap_locked(std::move(next), options);
  });
}

Status SlotImpl::open_file(const std::filesystem::path& file, const SwapOptions& options,
                           Component* out) {
  Artifact artifact;
  for (int attempt = 0;; ++attempt) {
    if (Status s = shared_.store->put(file, &artifact); !s) {
      return Status(s.code(), "component '" + spec_.component + "': " + s.message());
    }
    op_holds_.emplace_back(*shared_.store, artifact.sha256);
    // A copy that was there already may have been removed (by a prune that
    // found no hold) between the put and the hold: put once more, held now.
    std::error_code ec;
    if (attempt == 1 || std::filesystem::exists(artifact.path, ec)) break;
  }
  return open_artifact(artifact, options, out);
}

Status SlotImpl::open_artifact(const Artifact& artifact, const SwapOptions& options,
                               Component* out) {
  op_holds_.emplace_back(*shared_.store, artifact.sha256);
  Component next;
  Status s = LoadedComponent::open(artifact, spec_, gate_, shared_.logger, &next);
  if (s && options.expect_version && *options.expect_version != next->version()) {
    s = Status(ErrorCode::component_mismatch,
               next->describe() + ": the component reports version " + next->version().to_string() +
                   ", its bundle says " + options.expect_version->to_string());
    discard(std::move(next), options.by);
  }
  if (!s) {
    forget_artifact_if_unused(artifact);
    return s;
  }
  *out = std::move(next);
  return Status();
}

SwapMode SlotImpl::resolve(SwapMode mode, const LoadedComponent& from,
                           const LoadedComponent& to) const {
  if (mode != SwapMode::automatic) return mode;
  return from.facts().can_export && to.facts().can_import && from.facts().state_schema > 0
             ? SwapMode::quiesce
             : SwapMode::immediate;
}

Status SlotImpl::swap_locked(Component next, const SwapOptions& options) {
  bool empty = false;
  {
    std::lock_guard state(state_mu_);
    empty = !current_;
  }
  if (empty) {
    // Loaded -> Serving: nothing to prepare.
    SlotEvent e;
    e.kind = SlotEventKind::loaded;
    e.component = spec_.component;
    e.version = next->version().to_string();
    e.by = options.by;
    e.artifact = next->artifact().path.string();
    {
      std::lock_guard state(state_mu_);
      current_ = std::move(next);
      probation_ = false;
    }
    gate_.publish(&current_->cell());
    raise(std::move(e));
    return Status();
  }
  // --- prepare: may fail, changes nothing the callers see ---
  if (!options.allow_older && !(next->version() > current_->version())) {
    const Artifact artifact = next->artifact();
    Status s(ErrorCode::not_newer, next->describe() + ": not newer than the serving version " +
                                       current_->version().to_string() +
                                       " (going back takes an explicit rollback)");
    discard(std::move(next), options.by);
    forget_artifact_if_unused(artifact);
    return refuse(s, options.by, artifact.path.string());
  }
  SwapMode mode = resolve(options.mode, *current_, *next);
  std::string note;
  if (Status s = move_state(*next, mode); !s) {
    if (options.as_rollback && options.mode == SwapMode::automatic && is_state_failure(s.code())) {
      mode = SwapMode::immediate;  // going back matters more than the state
      note = "state not carried back (" + s.message() + "); rolled back in immediate mode";
    } else {
      const Artifact artifact = next->artifact();
      discard(std::move(next), options.by);
      forget_artifact_if_unused(artifact);
      return refuse(s, options.by, artifact.path.string());
    }
  } else if (options.as_rollback && mode == SwapMode::quiesce) {
    note = "state carried back";
  }
  // --- commit ---
  const bool retain = !options.as_rollback && shared_.options.probation.count() > 0;
  commit_switch(std::move(next), mode, retain,
                options.as_rollback ? SlotEventKind::rolled_back : SlotEventKind::swapped,
                options.by, note);
  return Status();
}

Status SlotImpl::move_state(LoadedComponent& next, SwapMode mode) {
  if (mode != SwapMode::quiesce) return Status();
  LoadedComponent& old = *current_;
  if (!old.facts().can_export || !next.facts().can_import) {
    return Status(ErrorCode::state_unsupported,
                  "component '" + spec_.component + "': quiesce swap " + old.version().to_string() +
                      " -> " + next.version().to_string() +
                      " needs state export from the old version and import into the new one (" +
                      (old.facts().can_export ? std::string() : "old cannot export; ") +
                      (next.facts().can_import ? "" : "new cannot import") + ")");
  }
  gate_.close(&old.cell(), shared_.options.quiesce_wait);
  const auto deadline = Clock::now() + shared_.options.drain_deadline;
  Status outcome;
  std::string bytes;
  if (!gate_.wait_drained(&old.cell(), deadline)) {
    outcome = Status(ErrorCode::drain_timeout,
                     old.describe() + ": calls still inside after the drain deadline of " +
                         std::to_string(shared_.options.drain_deadline.count()) + " ms (" +
                         join(threads_inside(&old.cell())) + "); gate reopened on it");
  } else if (Status s = old.export_state(&bytes); !s) {
    outcome = s;
  } else if (Status s2 = next.import_state(old.facts().state_schema, bytes); !s2) {
    outcome = s2;
  }
  if (!outcome) gate_.open(&old.cell());
  return outcome;
}

void SlotImpl::commit_switch(Component next, SwapMode mode, bool retain_old, SlotEventKind kind,
                             const std::string& by, const std::string& note) noexcept {
  // `next` null: the retained previous version comes back (rollback).
  LoadedComponent* old = current_.get();
  LoadedComponent* now = next ? next.get() : previous_.get();
  SlotEvent e;
  e.kind = kind;
  e.component = spec_.component;
  e.version = now->version().to_string();
  e.from_version = old->version().to_string();
  e.by = by;
  e.artifact = now->artifact().path.string();
  e.mode = std::string(to_string(mode));
  e.note = note;
  {
    std::lock_guard state(state_mu_);
    Component incoming = next ? std::move(next) : std::move(previous_);
    // A retained previous version (probation) gives way: Retained -> Draining.
    if (previous_) draining_.push_back(std::move(previous_));
    Component old_owned = std::move(current_);
    current_ = std::move(incoming);
    if (retain_old) {
      previous_ = std::move(old_owned);  // Serving -> Retained
      probation_ = true;
      probation_end_ = Clock::now() + shared_.options.probation;
      rollback_target_.reset();
    } else {
      probation_ = false;
      if (kind == SlotEventKind::swapped) {
        rollback_target_.emplace(*old_owned, *shared_.store);
      } else {
        rollback_target_.reset();  // a rollback only ever moves to the recorded previous
      }
      draining_.push_back(std::move(old_owned));  // Serving -> Draining
    }
  }
  if (mode == SwapMode::quiesce) {
    gate_.open(&now->cell());
  } else {
    gate_.publish(&now->cell());
  }
  raise(std::move(e));
  if (mode == SwapMode::immediate &&
      !gate_.wait_drained(&old->cell(), Clock::now() + shared_.options.drain_deadline)) {
    SlotEvent d;
    d.kind = SlotEventKind::draining;
    d.component = spec_.component;
    d.version = old->version().to_string();
    d.by = by;
    const auto holders = threads_inside(&old->cell());
    d.status = Status(ErrorCode::drain_timeout,
                      old->describe() + ": " + std::to_string(holders.size()) +
                          " thread(s) still inside after " +
                          std::to_string(shared_.options.drain_deadline.count()) + " ms (" +
                          join(holders) + "); kept loaded and retried in the background");
    raise(std::move(d));
  }
  reap("drained");
  shared_.wake_housekeeper();
}

void SlotImpl::discard(Component candidate, const std::string& by) {
  if (!candidate) return;
  // Loaded -> Unmapped: it was never published, so no call can be inside.
  unload(std::move(candidate), by);
}

void SlotImpl::reap(const std::string& by) {
  std::vector<Component> done;
  {
    std::lock_guard state(state_mu_);
    if (draining_.empty()) return;
  }
  // [R2] One barrier for the whole scan: every version in draining_ was
  // unpublished before it.
  if (!heavy_barrier()) return;
  {
    std::lock_guard state(state_mu_);
    for (auto& c : draining_) {
      if (CallGate::in_flight(&c->cell()) == 0) done.push_back(std::move(c));  // [R3]
    }
    draining_.erase(std::remove(draining_.begin(), draining_.end(), nullptr), draining_.end());
  }
  for (auto& c : done)
    unload(std::move(c), by);
}

void SlotImpl::unload(Component old, const std::string& by) {
  const std::string version = old->version().to_string();
  const std::string path = old->artifact().path.string();
  const std::string describe = old->describe();
  const bool gone = old->unload();
  old.reset();
  SlotEvent e;
  e.component = spec_.component;
  e.version = version;
  e.by = by;
  e.artifact = path;
  if (gone) {
    e.kind = SlotEventKind::unloaded;
  } else {
    e.kind = SlotEventKind::stayed_mapped;
    e.status = Status(ErrorCode::io_error,
                      describe +
                          ": still mapped after unload (a thread_local with a destructor, "
                          "a GNU-unique symbol, or another dlopen holds it)");
    std::lock_guard state(state_mu_);
    stayed_mapped_.push_back(version + " (" + path + ")");
  }
  raise(std::move(e));
}

Status SlotImpl::rollback(std::string_view by_view, SwapMode mode) {
  const std::string by(by_view);
  return reloading([&] {
    if (gate_.held_by_this_thread()) return refuse_reentrant("rollback", by, "");
    return rollback_locked(by, mode);
  });
}

Status SlotImpl::rollback_locked(const std::string& by, SwapMode requested) {
  // --- prepare: find the target; nothing moves until the commit ---
  Component loaded;  // a target reloaded from the store (after a commit)
  LoadedComponent* target = nullptr;
  {
    std::lock_guard state(state_mu_);
    if (!current_) {
      return Status(ErrorCode::not_loaded,
                    "component '" + spec_.component + "': nothing loaded to roll back");
    }
    target = previous_.get();
  }
  if (target == nullptr) {
    std::optional<RollbackTarget> from;
    {
      std::lock_guard state(state_mu_);
      from = rollback_target_;
    }
    if (!from) {
      return refuse(Status(ErrorCode::no_previous, "component '" + spec_.component +
                                                       "': no previous version to roll back to"),
                    by, "");
    }
    SwapOptions options;
    options.allow_older = true;
    options.expect_version = from->version;
    options.by = by;
    if (Status s = open_artifact(from->artifact, options, &loaded); !s) {
      return refuse(s, by, from->artifact.path.string());
    }
    target = loaded.get();
  }
  SwapMode mode = resolve(requested, *current_, *target);
  std::string note;
  if (Status s = move_state(*target, mode); !s) {
    if (requested == SwapMode::automatic && is_state_failure(s.code())) {
      // Going back matters more than the state: the older version keeps the
      // state it had (a retained version) or starts fresh.
      mode = SwapMode::immediate;
      note = "state not carried back (" + s.message() + "); rolled back in immediate mode";
    } else {
      const std::string artifact = target->artifact().path.string();
      discard(std::move(loaded), by);  // previous and probation stay as they were
      return refuse(s, by, artifact);
    }
  } else if (mode == SwapMode::quiesce) {
    note = "state carried back";
  }
  // --- commit ---
  commit_switch(std::move(loaded), mode, false, SlotEventKind::rolled_back, by, note);
  return Status();
}

Status SlotImpl::commit(std::string_view by) {
  return reloading([&] { return commit_locked(std::string(by)); });
}

Status SlotImpl::commit_locked(const std::string& by) {
  SlotEvent e;
  {
    std::lock_guard state(state_mu_);
    if (!current_) {
      return Status(ErrorCode::not_loaded, "component '" + spec_.component + "': nothing loaded");
    }
    if (!probation_) return Status();  // nothing pending: committing twice is harmless
    e.kind = SlotEventKind::committed;
    e.component = spec_.component;
    e.version = current_->version().to_string();
    e.by = by;
    if (previous_) {
      e.from_version = previous_->version().to_string();
      rollback_target_.emplace(*previous_, *shared_.store);
      draining_.push_back(std::move(previous_));  // Retained -> Draining
    }
    probation_ = false;
  }
  raise(std::move(e));
  reap("drained");
  return Status();
}

bool SlotImpl::housekeep(Clock::time_point now) {
  Batch batch;
  bool work = true;
  {
    std::unique_lock reload(reload_mu_, std::try_to_lock);
    if (!reload.owns_lock()) return true;
    reap("drained");
    bool roll = false;
    bool finish = false;
    std::uint64_t errors = 0;
    {
      std::lock_guard state(state_mu_);
      if (probation_ && current_) {
        errors = current_->cell().errors.load(std::memory_order_relaxed);
        const auto limit = shared_.options.probation_error_limit;
        roll = limit > 0 && errors >= limit && !auto_rollback_failed_;
        finish = !roll && now >= probation_end_;
      }
    }
    if (roll) {
      shared_.logger->error(
          "{}: {} error(s) during probation (limit {}); rolling back to the previous version",
          current_->describe(), errors, shared_.options.probation_error_limit);
      if (Status s = rollback_locked("probation", SwapMode::automatic); !s) {
        // Previous and probation stay as they were; an operator can still
        // roll back. Retrying every tick would only repeat the refusal.
        shared_.logger->error("component '{}': automatic rollback failed: {}", spec_.component,
                              s.message());
        auto_rollback_failed_ = true;
      } else {
        auto_rollback_failed_ = false;
      }
    } else if (finish) {
      (void)commit_locked("probation");
      auto_rollback_failed_ = false;
    }
    {
      std::lock_guard state(state_mu_);
      work = probation_ || !draining_.empty() ||
             (previous_ && CallGate::in_flight(&previous_->cell()) > 0);
    }
    batch = take_outbox();
  }
  deliver(batch);
  return work;
}

SlotStatus SlotImpl::status() const {
  SlotStatus st;
  st.component = spec_.component;
  st.interface_id = spec_.interface_id;
  st.interface_major = spec_.interface_major;
  std::lock_guard state(state_mu_);
  // One pass over the threads for every version's in-flight count and the
  // totals (with 10,000 threads alive a pass is what status costs).
  std::vector<const detail::VersionCell*> cells;
  if (current_) cells.push_back(&current_->cell());
  if (previous_) cells.push_back(&previous_->cell());
  for (const auto& c : draining_)
    cells.push_back(&c->cell());
  std::vector<std::uint64_t> inside(cells.size(), 0);
  std::uint64_t calls = 0;
  std::uint64_t errors = 0;
  gate_.census(cells.data(), cells.size(), inside.data(), &calls, &errors);
  st.calls = calls - calls_base_;
  st.errors = errors - errors_base_;
  std::size_t next_cell = 0;
  bool any_draining = !draining_.empty();
  auto add = [&](const LoadedComponent& c, VersionState vs) {
    VersionStatus v;
    v.version = c.version().to_string();
    v.in_flight = inside[next_cell++];
    v.errors = c.cell().errors.load(std::memory_order_relaxed);
    v.artifact = c.artifact().path.string();
    if (vs == VersionState::previous && v.in_flight > 0) {
      vs = VersionState::draining;
      any_draining = true;
    }
    v.state = vs;
    st.in_flight += v.in_flight;
    st.versions.push_back(std::move(v));
  };
  if (current_) {
    add(*current_, probation_ ? VersionState::probation : VersionState::serving);
    st.version = current_->version().to_string();
  }
  if (previous_) {
    add(*previous_, VersionState::previous);
    st.previous_version = previous_->version().to_string();
  } else if (rollback_target_) {
    // Unloaded, but a rollback would load it again from the store.
    st.previous_version = rollback_target_->version.to_string();
  }
  for (const auto& c : draining_)
    add(*c, VersionState::draining);
  if (!current_) {
    st.state = SlotState::empty;
  } else if (any_draining) {
    st.state = SlotState::draining;
  } else if (probation_) {
    st.state = SlotState::probation;
  } else {
    st.state = SlotState::serving;
  }
  if (probation_) {
    st.probation_left = std::max(
        std::chrono::milliseconds(0),
        std::chrono::duration_cast<std::chrono::milliseconds>(probation_end_ - Clock::now()));
  }
  st.stayed_mapped = stayed_mapped_;
  st.last_event = last_event_;
  return st;
}

std::optional<Version> SlotImpl::serving_version() const {
  std::lock_guard state(state_mu_);
  if (!current_) return std::nullopt;
  return current_->version();
}

Status SlotImpl::refuse(Status status, const std::string& by, const std::string& artifact) {
  SlotEvent e;
  e.kind = SlotEventKind::refused;
  e.component = spec_.component;
  e.by = by;
  e.artifact = artifact;
  e.status = status;
  raise(std::move(e));
  return status;
}

void SlotImpl::forget_artifact_if_unused(const Artifact& artifact) {
  // This reload's own holds on it go; anyone else's keep it (store_hold.hpp).
  std::erase_if(op_holds_, [&](const StoreHold& h) { return h.sha256() == artifact.sha256; });
  std::lock_guard state(state_mu_);
  auto uses = [&](const Component& c) { return c && c->artifact().sha256 == artifact.sha256; };
  if (uses(current_) || uses(previous_)) return;
  for (const auto& c : draining_) {
    if (uses(c)) return;
  }
  if (rollback_target_ && rollback_target_->artifact.sha256 == artifact.sha256) return;
  shared_.store->remove(artifact.sha256);
}

void SlotImpl::raise(SlotEvent e) {
  // Status shows the event at once; the log and listeners hear of it once
  // the reload lock is released.
  std::string last(to_string(e.kind));
  if (!e.version.empty()) last += " " + e.version;
  if (e.kind == SlotEventKind::refused) last += ": " + std::string(to_string(e.status.code()));
  {
    std::lock_guard state(state_mu_);
    last_event_ = std::move(last);
  }
  outbox_.push_back(std::move(e));
}

void SlotImpl::send(std::vector<SlotEvent>& events) noexcept {
  for (const auto& e : events) {
    log_event(e);
    shared_.emit(e);
  }
}

void SlotImpl::log_event(const SlotEvent& e) const noexcept {
  auto& log = *shared_.logger;
  try {
    const std::string_view kind = to_string(e.kind);
    switch (e.kind) {
      case SlotEventKind::refused:
        log.warn("refused: {}", e.status.message());
        break;
      case SlotEventKind::draining:
      case SlotEventKind::stayed_mapped:
        log.warn("{}", e.status.message());
        break;
      case SlotEventKind::swapped:
      case SlotEventKind::rolled_back:
      case SlotEventKind::committed:
        log.info("[{} {}] {} from {} (by {}{}{}){}{}", e.component, e.version, kind, e.from_version,
                 e.by, e.mode.empty() ? "" : ", ", e.mode, e.note.empty() ? "" : ": ", e.note);
        break;
      default:
        log.info("[{} {}] {} (by {})", e.component, e.version, kind, e.by);
        break;
    }
  } catch (...) {
    // Not logged (out of memory): the listeners still hear it.
  }
}

void SlotImpl::before_fork() noexcept {
  reload_mu_.lock();
  state_mu_.lock();
  turn_mu_.lock();
  gate_.before_fork();
}

void SlotImpl::after_fork_parent() noexcept {
  gate_.after_fork_parent();
  turn_mu_.unlock();
  state_mu_.unlock();
  reload_mu_.unlock();
}

void SlotImpl::after_fork_child() noexcept {
  gate_.after_fork_child();
  // The batches still in line belong to threads the child does not have:
  // the next ticket is the child's turn. A fresh condition, as the old one
  // may count waiters that are gone.
  turn_ = tickets_issued_;
  done_early_.clear();
  new (&turn_cv_) std::condition_variable();
  turn_mu_.unlock();
  state_mu_.unlock();
  reload_mu_.unlock();
}

}  // namespace graft::detail
