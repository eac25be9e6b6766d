#include "slot_impl.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace graft::detail {

SlotImpl::SlotImpl(CallGate& gate, RuntimeShared& shared, SlotSpec spec)
    : gate_(gate), shared_(shared), spec_(std::move(spec)) {
  gate_.totals(&calls_base_, &errors_base_);
}

SlotImpl::~SlotImpl() {
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
      c->unload();
    } else {
      // Never unmap code that may still run: leave it loaded.
      shared_.logger->error("{}: calls still inside at shutdown; left loaded", c->describe());
      (void)c.release();
    }
  }
}

Status SlotImpl::load(const std::filesystem::path& file, const SwapOptions& options) {
  std::lock_guard reload(reload_mu_);
  if (const auto serving = serving_version()) {
    return refuse(
        Status(ErrorCode::already_loaded, "component '" + spec_.component + "': already serving " +
                                              serving->to_string() + "; use swap"),
        options.by, file.string());
  }
  Component next;
  if (Status s = open_file(file, options, &next); !s) return refuse(s, options.by, file.string());
  return swap_locked(std::move(next), options);
}

Status SlotImpl::swap(const std::filesystem::path& file, const SwapOptions& options) {
  std::lock_guard reload(reload_mu_);
  if (gate_.held_by_this_thread()) {
    return refuse(Status(ErrorCode::reentrant_swap,
                         "component '" + spec_.component +
                             "': swap requested from inside a call into this slot (the drain "
                             "would wait for the caller itself)"),
                  options.by, file.string());
  }
  Component next;
  if (Status s = open_file(file, options, &next); !s) return refuse(s, options.by, file.string());
  return swap_locked(std::move(next), options);
}

Status SlotImpl::load_artifact(const Artifact& artifact, const SwapOptions& options) {
  std::lock_guard reload(reload_mu_);
  if (gate_.held_by_this_thread()) {
    return refuse(Status(ErrorCode::reentrant_swap,
                         "component '" + spec_.component +
                             "': install requested from inside a call into this slot"),
                  options.by, artifact.path.string());
  }
  Component next;
  if (Status s = open_artifact(artifact, options, &next); !s) {
    return refuse(s, options.by, artifact.path.string());
  }
  return swap_locked(std::move(next), options);
}

Status SlotImpl::open_file(const std::filesystem::path& file, const SwapOptions& options,
                           Component* out) {
  Artifact artifact;
  if (Status s = shared_.store->put(file, &artifact); !s) {
    return Status(s.code(), "component '" + spec_.component + "': " + s.message());
  }
  return open_artifact(artifact, options, out);
}

Status SlotImpl::open_artifact(const Artifact& artifact, const SwapOptions& options,
                               Component* out) {
  Component next;
  Status s = LoadedComponent::open(artifact, spec_, gate_, shared_.logger, &next);
  if (s && options.expect_version && *options.expect_version != next->version()) {
    s = Status(ErrorCode::component_mismatch,
               next->describe() + ": the component reports version " + next->version().to_string() +
                   ", its bundle says " + options.expect_version->to_string());
  }
  if (!s) {
    next.reset();
    forget_artifact_if_unused(artifact);
    return s;
  }
  *out = std::move(next);
  return Status();
}

Status SlotImpl::swap_locked(Component next, const SwapOptions& options) {
  bool empty = false;
  {
    std::lock_guard state(state_mu_);
    empty = !current_;
    if (empty) {
      current_ = std::move(next);
      probation_ = false;
    }
  }
  if (empty) {
    gate_.publish(&current_->cell());
    SlotEvent e;
    e.kind = SlotEventKind::loaded;
    e.component = spec_.component;
    e.version = current_->version().to_string();
    e.by = options.by;
    e.artifact = current_->artifact().path.string();
    note(e);
    return Status();
  }
  if (!options.allow_older && !(next->version() > current_->version())) {
    const Artifact artifact = next->artifact();
    Status s(ErrorCode::not_newer, next->describe() + ": not newer than the serving version " +
                                       current_->version().to_string() +
                                       " (going back takes an explicit rollback)");
    next.reset();
    forget_artifact_if_unused(artifact);
    return refuse(s, options.by, artifact.path.string());
  }
  const bool retain = shared_.options.probation.count() > 0;
  return switch_to(std::move(next), options.mode, retain, SlotEventKind::swapped, options.by);
}

Status SlotImpl::switch_to(Component next, SwapMode mode, bool retain_old, SlotEventKind kind,
                           const std::string& by) {
  LoadedComponent* old = current_.get();
  const auto deadline = Clock::now() + shared_.options.drain_deadline;
  bool drained = true;
  if (mode == SwapMode::automatic) {
    mode = old->facts().can_export && next->facts().can_import && old->facts().state_schema > 0
               ? SwapMode::quiesce
               : SwapMode::immediate;
  }
  if (mode == SwapMode::quiesce) {
    if (!old->facts().can_export || !next->facts().can_import) {
      return refuse(Status(ErrorCode::state_unsupported,
                           "component '" + spec_.component + "': quiesce swap " +
                               old->version().to_string() + " -> " + next->version().to_string() +
                               " needs state export from the old version and import into the "
                               "new one (" +
                               (old->facts().can_export ? std::string() : "old cannot export; ") +
                               (next->facts().can_import ? "" : "new cannot import") + ")"),
                    by, next->artifact().path.string());
    }
    gate_.close(&old->cell(), shared_.options.quiesce_wait);
    Status outcome;
    std::string bytes;
    if (!gate_.wait_drained(&old->cell(), deadline)) {
      outcome = Status(ErrorCode::drain_timeout,
                       old->describe() + ": calls still inside after the drain deadline of " +
                           std::to_string(shared_.options.drain_deadline.count()) +
                           " ms; gate reopened on it");
    } else if (Status s = old->export_state(&bytes); !s) {
      outcome = s;
    } else if (Status s2 = next->import_state(old->facts().state_schema, bytes); !s2) {
      outcome = s2;
    }
    if (!outcome.ok()) {
      gate_.open(&old->cell());
      return refuse(outcome, by, next->artifact().path.string());
    }
  }
  Component old_owned;
  {
    std::lock_guard state(state_mu_);
    end_probation_locked();
    old_owned = std::move(current_);
    current_ = std::move(next);
  }
  if (mode == SwapMode::quiesce) {
    gate_.open(&current_->cell());
  } else {
    gate_.publish(&current_->cell());
  }
  SlotEvent e;
  e.kind = kind;
  e.component = spec_.component;
  e.version = current_->version().to_string();
  e.from_version = old_owned->version().to_string();
  e.by = by;
  e.artifact = current_->artifact().path.string();
  e.mode = std::string(to_string(mode));
  note(e);
  if (mode == SwapMode::immediate) drained = gate_.wait_drained(&old_owned->cell(), deadline);
  if (!drained) {
    SlotEvent d;
    d.kind = SlotEventKind::draining;
    d.component = spec_.component;
    d.version = old_owned->version().to_string();
    d.by = by;
    d.status = Status(ErrorCode::drain_timeout,
                      old_owned->describe() + ": " +
                          std::to_string(CallGate::in_flight(&old_owned->cell())) +
                          " call(s) still inside after " +
                          std::to_string(shared_.options.drain_deadline.count()) +
                          " ms; kept loaded and retried in the background");
    note(d);
  }
  if (retain_old) {
    std::lock_guard state(state_mu_);
    previous_ = std::move(old_owned);
    probation_ = true;
    probation_end_ = Clock::now() + shared_.options.probation;
    rollback_artifact_.reset();
  } else {
    if (kind == SlotEventKind::swapped) {
      std::lock_guard state(state_mu_);
      rollback_artifact_ = old_owned->artifact();
    }
    retire(std::move(old_owned));
  }
  shared_.wake_housekeeper();
  return Status();
}

void SlotImpl::end_probation_locked() {
  if (previous_) draining_.push_back(std::move(previous_));
  probation_ = false;
}

void SlotImpl::retire(Component old) {
  if (CallGate::in_flight(&old->cell()) == 0) {
    unload(std::move(old), "drained");
    return;
  }
  std::lock_guard state(state_mu_);
  draining_.push_back(std::move(old));
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
  note(e);
}

Status SlotImpl::rollback(std::string_view by_view, SwapMode mode) {
  const std::string by(by_view);
  std::lock_guard reload(reload_mu_);
  if (gate_.held_by_this_thread()) {
    return refuse(Status(ErrorCode::reentrant_swap,
                         "component '" + spec_.component +
                             "': rollback requested from inside a call into this slot"),
                  by, "");
  }
  return rollback_locked(by, mode);
}

Status SlotImpl::rollback_locked(const std::string& by, SwapMode mode) {
  Component target;
  std::optional<Artifact> reload_from;
  {
    std::lock_guard state(state_mu_);
    if (!current_) {
      return Status(ErrorCode::not_loaded,
                    "component '" + spec_.component + "': nothing loaded to roll back");
    }
    target = std::move(previous_);
    probation_ = false;
    reload_from = rollback_artifact_;
  }
  if (!target) {
    if (!reload_from) {
      return refuse(Status(ErrorCode::no_previous, "component '" + spec_.component +
                                                       "': no previous version to roll back to"),
                    by, "");
    }
    SwapOptions any;
    any.allow_older = true;
    if (Status s = open_artifact(*reload_from, any, &target); !s) {
      return refuse(s, by, reload_from->path.string());
    }
  }
  const std::string artifact = target->artifact().path.string();
  Status s = switch_to(std::move(target), mode, false, SlotEventKind::rolled_back, by);
  if (s) {
    std::lock_guard state(state_mu_);
    rollback_artifact_.reset();
  }
  return s;
}

Status SlotImpl::commit(std::string_view by) {
  std::lock_guard reload(reload_mu_);
  return commit_locked(std::string(by));
}

Status SlotImpl::commit_locked(const std::string& by) {
  Component previous;
  {
    std::lock_guard state(state_mu_);
    if (!current_) {
      return Status(ErrorCode::not_loaded, "component '" + spec_.component + "': nothing loaded");
    }
    if (!probation_) return Status();  // nothing pending: committing twice is harmless
    previous = std::move(previous_);
    probation_ = false;
    if (previous) rollback_artifact_ = previous->artifact();
  }
  SlotEvent e;
  e.kind = SlotEventKind::committed;
  e.component = spec_.component;
  e.version = current_->version().to_string();
  e.from_version = previous ? previous->version().to_string() : "";
  e.by = by;
  note(e);
  if (previous) retire(std::move(previous));
  return Status();
}

bool SlotImpl::housekeep(Clock::time_point now) {
  std::unique_lock reload(reload_mu_, std::try_to_lock);
  if (!reload.owns_lock()) return true;
  std::vector<Component> done;
  {
    std::lock_guard state(state_mu_);
    for (auto& c : draining_) {
      if (CallGate::in_flight(&c->cell()) == 0) done.push_back(std::move(c));
    }
    draining_.erase(std::remove(draining_.begin(), draining_.end(), nullptr), draining_.end());
  }
  for (auto& c : done)
    unload(std::move(c), "drained");

  bool roll = false;
  bool finish = false;
  std::uint64_t errors = 0;
  {
    std::lock_guard state(state_mu_);
    if (probation_ && current_) {
      errors = current_->cell().errors.load(std::memory_order_relaxed);
      const auto limit = shared_.options.probation_error_limit;
      roll = limit > 0 && errors >= limit;
      finish = !roll && now >= probation_end_;
    }
  }
  if (roll) {
    shared_.logger->error(
        "{}: {} error(s) during probation (limit {}); rolling back to the previous version",
        current_->describe(), errors, shared_.options.probation_error_limit);
    if (Status s = rollback_locked("probation", SwapMode::automatic); !s) {
      shared_.logger->error("component '{}': automatic rollback failed: {}", spec_.component,
                            s.message());
      std::lock_guard state(state_mu_);
      probation_ = false;  // do not retry a rollback that cannot work
    }
  } else if (finish) {
    (void)commit_locked("probation");
  }
  std::lock_guard state(state_mu_);
  return probation_ || !draining_.empty() ||
         (previous_ && CallGate::in_flight(&previous_->cell()) > 0);
}

SlotStatus SlotImpl::status() const {
  SlotStatus st;
  st.component = spec_.component;
  st.interface_id = spec_.interface_id;
  st.interface_major = spec_.interface_major;
  std::uint64_t calls = 0;
  std::uint64_t errors = 0;
  gate_.totals(&calls, &errors);
  st.calls = calls - calls_base_;
  st.errors = errors - errors_base_;
  std::lock_guard state(state_mu_);
  bool any_draining = !draining_.empty();
  auto add = [&](const LoadedComponent& c, VersionState vs) {
    VersionStatus v;
    v.version = c.version().to_string();
    v.in_flight = CallGate::in_flight(&c.cell());
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
  note(e);
  return status;
}

void SlotImpl::forget_artifact_if_unused(const Artifact& artifact) {
  std::lock_guard state(state_mu_);
  auto uses = [&](const Component& c) { return c && c->artifact().sha256 == artifact.sha256; };
  if (uses(current_) || uses(previous_)) return;
  for (const auto& c : draining_) {
    if (uses(c)) return;
  }
  if (rollback_artifact_ && rollback_artifact_->sha256 == artifact.sha256) return;
  shared_.store->remove(artifact.sha256);
}

void SlotImpl::note(const SlotEvent& e) {
  const std::string kind(to_string(e.kind));
  {
    std::lock_guard state(state_mu_);
    last_event_ = kind + (e.version.empty() ? "" : " " + e.version);
    if (e.kind == SlotEventKind::refused)
      last_event_ += std::string(": ") + std::string(to_string(e.status.code()));
  }
  auto& log = *shared_.logger;
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
      log.info("[{} {}] {} from {} (by {})", e.component, e.version, kind, e.from_version, e.by);
      break;
    default:
      log.info("[{} {}] {} (by {})", e.component, e.version, kind, e.by);
      break;
  }
  shared_.emit(e);
}

}  // namespace graft::detail
