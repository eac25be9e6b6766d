#include <graft/installer.hpp>
#include <graft/revocation.hpp>

#include "trust/delta_object.hpp"

#include "file_io.hpp"
#include "host_attestation.hpp"
#include "printable.hpp"
#include "store_hold.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>

namespace graft {
namespace fs = std::filesystem;

namespace {

std::string sha_of_store_path(const std::string& path) {
  return fs::path(path).stem().string();
}

// Drops the recorded versions a component no longer needs and returns their
// hashes. Kept: serving, previous (rollback), highest (the anti-downgrade
// check compares builds of it), `live` (what the slot runs now), then the
// newest versions below serving (restore's fallbacks) up to `keep` in all.
std::vector<std::string> prune_versions(ComponentRecord& r, const Version& live, std::size_t keep) {
  std::vector<Version> recorded;
  for (const auto& [text, sha] : r.hashes) {
    if (auto v = Version::parse(text)) recorded.push_back(*v);
  }
  std::sort(recorded.begin(), recorded.end(), std::greater<>());
  std::vector<Version> kept;
  auto hold = [&](const std::optional<Version>& v) {
    if (v && std::find(kept.begin(), kept.end(), *v) == kept.end()) kept.push_back(*v);
  };
  hold(r.serving);
  hold(r.previous);
  hold(r.highest);
  hold(live);
  for (const Version& v : recorded) {
    if (kept.size() >= keep) break;
    if (!r.serving || v < *r.serving) hold(v);
  }
  std::vector<std::string> dropped;
  for (auto it = r.hashes.begin(); it != r.hashes.end();) {
    const auto v = Version::parse(it->first);
    if (v && std::find(kept.begin(), kept.end(), *v) != kept.end()) {
      ++it;
    } else {
      dropped.push_back(it->second);
      it = r.hashes.erase(it);
    }
  }
  return dropped;
}

// The install or rollback this thread is running: a slot reports its events
// on the thread that caused them, so the listener can tell an event of the
// Installer's own call (and fill in its outcome) from one of another thread.
struct CallInProgress {
  std::string component;
  bool rollback = false;  // a store copy installed to go back: journaled as rolled_back
  InstallOutcome* outcome = nullptr;
};
thread_local CallInProgress* t_call = nullptr;

class CallScope {
 public:
  explicit CallScope(CallInProgress* call) : saved_(t_call) { t_call = call; }
  ~CallScope() { t_call = saved_; }
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  CallInProgress* saved_;
};

}  // namespace

// Shared with the runtime's event listener, which may outlive the Installer.
struct InstallerCore {
  Runtime& runtime;
  fs::path state_file;
  Journal journal;
  std::mutex state_mu;
  InstalledState state;
  // Store copies that prepared installs hold (PreparedInstall), under
  // state_mu: not removed while held, though nothing records them yet.
  std::multiset<std::string> preparing;

  std::size_t kept_versions;

  // Checks the signed manifests the store keeps; vouches for the objects
  // the host loaded from its own files.
  BundleVerifier verifier{TrustedKeys()};
  detail::HostAttestation own;

  InstallerCore(Runtime& rt, fs::path file, fs::path journal_file, std::size_t keep,
                detail::HostAttestation attestation)
      : runtime(rt),
        state_file(std::move(file)),
        journal(std::move(journal_file)),
        kept_versions(keep),
        own(attestation) {}

  // Whether the store object `sha` may be loaded as `component` `version`:
  // the signed manifest kept beside it verifies with a trusted key and names
  // this component, version and hash, or the host's own tag vouches for it.
  // installed.json is not signed; this is what makes a planted object and a
  // planted record useless.
  Status check_stored(const std::string& component, const Version& version,
                      const std::string& sha) const {
    const ArtifactStore& store = runtime.store();
    const std::string what =
        "store object " + sha + " (" + component + " " + version.to_string() + ")";
    std::string text, sig;
    const Status has_manifest =
        store.get_beside(sha, ArtifactStore::kManifestSuffix, kManifestMaxBytes, &text);
    if (has_manifest) {
      if (Status s =
              store.get_beside(sha, ArtifactStore::kSignatureSuffix, kSignatureMaxBytes, &sig);
          !s) {
        return Status(ErrorCode::bad_signature, what + ": " + s.message());
      }
      Manifest m;
      if (Status s = verifier.verify_signed_manifest(text, sig, what, &m, nullptr); !s) return s;
      if (m.component != component || m.version != version || m.sha256 != sha) {
        return Status(ErrorCode::bad_signature, what + ": its signed manifest is for " +
                                                    m.component + " " + m.version.to_string() +
                                                    " with SHA-256 " + m.sha256);
      }
      return Status();
    }
    std::string tag;
    if (store.get_beside(sha, ArtifactStore::kOwnSuffix, 256, &tag) &&
        own.check(component, version.to_string(), sha, tag)) {
      return Status();
    }
    return Status(ErrorCode::bad_signature,
                  what +
                      ": no signed manifest and no tag of this host beside it (not installed "
                      "from a signed bundle nor loaded by this host from its own file); not "
                      "loaded");
  }

  // The host loaded `sha` itself (no bundle, so no signed manifest): vouch
  // for it, so that a restart may restore it.
  void vouch_for_own(const std::string& component, const Version& version, const std::string& sha) {
    std::string ignored;
    if (runtime.store().get_beside(sha, ArtifactStore::kManifestSuffix, kManifestMaxBytes,
                                   &ignored)) {
      return;  // installed from a bundle: the signature speaks for it
    }
    if (Status s = runtime.store().put_beside(sha, ArtifactStore::kOwnSuffix,
                                              own.tag(component, version.to_string(), sha));
        !s) {
      runtime.logger().error("{}", s.message());
    }
  }

  // The last save's failure, if any (install() reads it to undo a swap the
  // disk could not record).
  Status last_save;

  // Under state_mu: a hold on every store copy the state records, in memory
  // or on disk, so that no one else (a slot whose load failed) removes a
  // recorded version's file. Holds are added before a save and dropped only
  // once a save no longer names them.
  std::map<std::string, detail::StoreHold> recorded_holds;
  void hold_recorded_locked(bool saved) {
    std::set<std::string> now;
    for (const auto& [name, rec] : state.components) {
      for (const auto& [v, sha] : rec.hashes)
        now.insert(sha);
    }
    if (saved) {
      std::erase_if(recorded_holds, [&](const auto& h) { return now.count(h.first) == 0; });
    }
    for (const std::string& sha : now) {
      if (recorded_holds.count(sha) == 0)
        recorded_holds.emplace(sha, detail::StoreHold(runtime.store(), sha));
    }
  }

  void save_locked() {
    hold_recorded_locked(/*saved=*/false);
    last_save = state.save(state_file);
    if (!last_save) {
      runtime.logger().error("{}", last_save.message());
    } else {
      hold_recorded_locked(/*saved=*/true);
    }
  }

  // Keeps the installed state in step with what the slots do, whoever asked
  // (operator, inbox, probation, restore).
  void on_event(const SlotEvent& e) {
    // Refusals are journaled by the Installer's call, with the bundle.
    if (e.kind == SlotEventKind::refused) return;
    SlotEventKind kind = e.kind;
    CallInProgress* call = t_call != nullptr && t_call->component == e.component ? t_call : nullptr;
    if (call != nullptr && call->rollback && kind == SlotEventKind::swapped) {
      kind = SlotEventKind::rolled_back;
    }
    if (call != nullptr && call->outcome != nullptr &&
        (kind == SlotEventKind::swapped || kind == SlotEventKind::rolled_back ||
         kind == SlotEventKind::loaded)) {
      call->outcome->version = e.version;
      call->outcome->from = e.from_version;
      call->outcome->mode = e.mode;
      call->outcome->note = e.note;
    }
    JournalEntry j;
    j.event = std::string(to_string(kind));
    j.mode = e.mode;
    j.component = e.component;
    j.version = e.version;
    j.from_version = e.from_version;
    j.by = e.by;
    if (!e.status.ok()) {
      j.code = std::string(to_string(e.status.code()));
      j.reason = e.status.message();
    } else {
      j.reason = e.note;
    }
    journal.append(j);
    const auto v = Version::parse(e.version);
    if (!v) return;
    std::lock_guard lock(state_mu);
    ComponentRecord& r = state.components[e.component];
    switch (kind) {
      case SlotEventKind::loaded:
        // A host's own start-up load (its base) leaves the recorded serving
        // version alone: restore() is about to move the slot back there, and
        // a crash in between must not forget the patch.
        if (!r.serving || e.by == "restore") r.serving = *v;
        break;
      case SlotEventKind::swapped:
        // restore() moves the slot back to the recorded version: what was
        // before it stays the recorded previous.
        // When restore() had to fall back to the recorded previous version
        // itself, that is no longer where a rollback goes: the version the
        // slot replaced is.
        if (e.by != "restore" || r.previous == *v) r.previous = Version::parse(e.from_version);
        r.serving = *v;
        break;
      case SlotEventKind::rolled_back:
        // Going back leaves nothing to go back to: a second rollback is
        // refused rather than re-applying the version just left.
        r.previous.reset();
        r.serving = *v;
        break;
      default:
        return;
    }
    if (!r.highest || *r.highest < *v) r.highest = *v;
    if (!e.artifact.empty()) {
      const std::string sha = sha_of_store_path(e.artifact);
      r.hashes[v->to_string()] = sha;
      vouch_for_own(e.component, *v, sha);
    }
    const std::vector<std::string> dropped = prune_versions(r, *v, kept_versions);
    save_locked();
    // Only once the state no longer names them: a crash before this line
    // leaves a stray file, never a recorded version without its file.
    if (last_save) {
      for (const std::string& sha : dropped) {
        if (removable(sha)) runtime.store().remove(sha);
      }
    }
  }

  // Under state_mu: whether the store may drop `sha` (no record names it
  // and no prepared install holds it).
  bool removable(const std::string& sha) const {
    return preparing.count(sha) == 0 && !recorded_anywhere(sha);
  }

  bool recorded_anywhere(const std::string& sha) const {
    for (const auto& [name, rec] : state.components) {
      for (const auto& [v, h] : rec.hashes)
        if (h == sha) return true;
    }
    return false;
  }
};

struct Installer::Impl {
  std::shared_ptr<InstallerCore> core;
  // The state as the host found it: restore() works from this, since a host
  // may load its base version (and so record it) before calling restore().
  InstalledState at_start;
  TrustedKeys keys;  // for revocations

  // A revoked version's way back: the newest version below it that the
  // store keeps and that is not revoked (the recorded previous may be a
  // newer version that was rolled back, or gone).
  Status roll_back_below(const std::string& component) {
    std::lock_guard lane(lock_for(component));
    ComponentRecord rec;
    {
      std::lock_guard lock(core->state_mu);
      auto it = core->state.components.find(component);
      if (it != core->state.components.end()) rec = it->second;
    }
    SlotCore* slot = runtime().find(component);
    const RevocationList revoked(runtime().options().state_dir);
    std::optional<Version> best;
    for (const auto& [text, sha] : rec.hashes) {
      const auto v = Version::parse(text);
      if (!v || !rec.serving || *v >= *rec.serving || revoked.revoked(component, *v)) continue;
      if (!best || *v > *best) best = v;
    }
    if (slot == nullptr || !best) {
      return Status(ErrorCode::no_previous,
                    "component '" + component + "': no earlier version kept in the store");
    }
    Artifact artifact;
    if (Status got = runtime().store().get(rec.hashes[best->to_string()], &artifact); !got) {
      return got;
    }
    SwapOptions o;
    o.allow_older = true;
    o.expect_version = best;
    o.by = "revocation";
    o.as_rollback = true;
    return slot->install(artifact, o);
  }

  // One install or rollback at a time per component; different components
  // do not wait for one another.
  std::mutex lanes_mu;
  std::map<std::string, std::unique_ptr<std::mutex>> component_mu;

  std::mutex& lock_for(const std::string& component) {
    std::lock_guard lock(lanes_mu);
    auto& m = component_mu[component];
    if (!m) m = std::make_unique<std::mutex>();
    return *m;
  }
  // Components whose highest-version floor in installed.json could not be
  // checked against signed data at start: installs of them are refused.
  std::map<std::string, std::string> unverified_floor;

  Runtime& runtime() { return core->runtime; }

  // The halves of an install (Installer::prepare, install_prepared).
  bool already_serving(const Manifest& m, const fs::path& bundle_dir, const std::string& by,
                       InstallOutcome& out);
  Status stage(PreparedInstall::Data& d);
  Status prepare(const fs::path& bundle_dir, const std::string& by, bool allow_older,
                 PreparedInstall* prepared, InstallOutcome& out);

  // Every refusal of the Installer (and those a caller hands to
  // record_refusal) goes through here: one journal line and one log line.
  // A slot logs its own refusals; `slot_logged` avoids a second line.
  Status refuse(const Status& s, const fs::path& bundle, const std::string& component,
                const std::string& version, const std::string& by, bool slot_logged = false) {
    record(to_string(s.code()), s.message(), bundle, component, version, by, slot_logged);
    return s;
  }

  void record(std::string_view code, std::string_view message, const fs::path& bundle,
              const std::string& component, const std::string& version, const std::string& by,
              bool slot_logged) {
    JournalEntry j;
    j.event = "refused";
    j.component = component;
    j.version = version;
    j.by = by;
    j.code = std::string(code);
    j.reason = std::string(message);
    j.bundle = bundle.string();
    if (!core->journal.append(j)) {
      runtime().logger().error("{}: cannot append the refusal below",
                               core->journal.file().string());
    }
    if (!slot_logged) {
      const std::string what = !bundle.empty()      ? "bundle " + bundle.filename().string()
                               : !component.empty() ? "component " + component
                                                    : std::string("request");
      runtime().logger().warn("refused {}: {} ({}, by {})", printable(what), printable(message),
                              j.code, by.empty() ? "-" : by);
    }
  }

  // The version policy and the slot's interface, against the installed state.
  Status check_policy(const Manifest& m, const fs::path& dir, bool allow_older,
                      std::vector<BundleCheck>* checks) {
    const std::string who =
        "bundle '" + dir.string() + "' (" + m.component + " " + m.version.to_string() + ")";
    auto fail = [&](const char* check, Status s) {
      if (checks != nullptr) checks->push_back({check, false, s.message()});
      return s;
    };
    if (std::string why;
        RevocationList(runtime().options().state_dir).revoked(m.component, m.version, &why)) {
      return fail("revocation", Status(ErrorCode::revoked, who + ": revoked (" + why + ")"));
    }
    SlotCore* slot = runtime().find(m.component);
    if (slot == nullptr) {
      return fail("component",
                  Status(ErrorCode::unknown_component,
                         who + ": this host has no slot for component '" + m.component + "'"));
    }
    const SlotSpec& spec = slot->spec();
    if (m.abi_version != GRAFT_ABI_VERSION) {
      return fail("abi", Status(ErrorCode::abi_mismatch,
                                who + ": built for graft ABI " + std::to_string(m.abi_version) +
                                    ", this host speaks ABI " + std::to_string(GRAFT_ABI_VERSION)));
    }
    if (m.interface_id != spec.interface_id || m.interface_major != spec.interface_major) {
      return fail("interface",
                  Status(ErrorCode::interface_mismatch,
                         who + ": implements '" + m.interface_id + "' v" +
                             std::to_string(m.interface_major) + ", the host's slot needs '" +
                             spec.interface_id + "' v" + std::to_string(spec.interface_major) +
                             " (an interface change needs a new host build)"));
    }
    if (auto f = unverified_floor.find(m.component); f != unverified_floor.end()) {
      return fail("version", Status(ErrorCode::state_corrupt, who + ": " + f->second));
    }
    ComponentRecord rec;
    {
      std::lock_guard lock(core->state_mu);
      auto it = core->state.components.find(m.component);
      if (it != core->state.components.end()) rec = it->second;
    }
    const bool operator_rollback = allow_older && rec.previous && m.version == *rec.previous;
    if (rec.highest && m.version < *rec.highest && !operator_rollback) {
      return fail("version", Status(ErrorCode::downgrade,
                                    who + ": older than " + rec.highest->to_string() +
                                        ", the highest version ever installed (refused as a "
                                        "rollback attack; use 'graftctl rollback')"));
    }
    if (rec.highest && m.version == *rec.highest) {
      auto h = rec.hashes.find(m.version.to_string());
      if (h != rec.hashes.end() && h->second != m.sha256) {
        return fail("version", Status(ErrorCode::downgrade,
                                      who + ": a different build of " + m.version.to_string() +
                                          " was installed before (sha256 " + h->second + ")"));
      }
    }
    if (m.version.is_response() && m.applies_to != m.version.base()) {
      return fail("base", Status(ErrorCode::wrong_base,
                                 who + ": a response to " + m.version.base().to_string() +
                                     " cannot apply to " + m.applies_to.to_string()));
    }
    const auto serving = slot->serving_version();
    if (serving && !operator_rollback && serving->base() != m.applies_to) {
      return fail("base", Status(ErrorCode::wrong_base,
                                 who + ": applies to " + m.applies_to.to_string() +
                                     ", but this host serves " + serving->to_string()));
    }
    if (checks != nullptr) {
      checks->push_back(
          {"policy", true, serving ? "installs over " + serving->to_string() : "first version"});
    }
    return Status();
  }
};

Installer::Installer(Runtime& runtime, InstallerOptions options) : impl_(std::make_unique<Impl>()) {
  const fs::path dir = runtime.options().state_dir;
  impl_->core =
      std::make_shared<InstallerCore>(runtime, dir / "installed.json", dir / "journal.jsonl",
                                      options.kept_versions, detail::HostAttestation::open(dir));
  TrustedKeys keys;
  if (Status s = TrustedKeys::load(options.trusted_keys, &keys); !s) throw Error(s);
  impl_->keys = keys;
  impl_->core->verifier = BundleVerifier(std::move(keys));
  InstalledState st;
  if (Status s = InstalledState::load(impl_->core->state_file, &st); !s) {
    // Saves are atomic, so a file that does not parse was damaged from
    // outside. Starting empty would drop the floor against rollback attacks:
    // refuse, and let the operator decide.
    throw Error(Status(s.code(), s.message() +
                                     " (refusing to start without the highest installed versions; "
                                     "restore the file from a backup or remove it to start over)"));
  }
  // The floor against rollback attacks is only as good as the data behind
  // it: the highest version's object must carry a signed manifest (or this
  // host's tag). A floor that cannot be checked (planted, or its object
  // gone) is neither trusted nor dropped: installs of that component are
  // refused until an operator restores installed.json or removes its record.
  for (const auto& [name, rec] : st.components) {
    if (!rec.highest) continue;
    auto h = rec.hashes.find(rec.highest->to_string());
    const Status backed = h == rec.hashes.end()
                              ? Status(ErrorCode::state_corrupt, "no recorded hash")
                              : impl_->core->check_stored(name, *rec.highest, h->second);
    if (!backed) {
      const std::string why = "the highest-version floor " + rec.highest->to_string() +
                              " recorded in installed.json cannot be checked against signed "
                              "data (" +
                              backed.message() +
                              "); installs of this component are refused until installed.json "
                              "is restored from a backup or its record removed";
      runtime.logger().error("component '{}': {}", name, why);
      impl_->unverified_floor[name] = why;
    }
  }
  impl_->at_start = st;
  {
    std::lock_guard lock(impl_->core->state_mu);
    impl_->core->state = std::move(st);
    impl_->core->hold_recorded_locked(/*saved=*/true);  // as loaded from the disk
  }
  // A journal line a crash cut short; later lines must start on their own.
  if (const long long dropped = impl_->core->journal.drop_torn_tail(); dropped < 0) {
    runtime.logger().warn("{}: cannot check its last line: {}",
                          impl_->core->journal.file().string(), std::strerror(errno));
  } else if (dropped > 0) {
    runtime.logger().warn("{}: dropped a last line of {} bytes that a crash cut short",
                          impl_->core->journal.file().string(), dropped);
    JournalEntry note;
    note.event = "journal_repaired";
    note.by = "start";
    note.reason = "dropped a torn last line of " + std::to_string(dropped) + " bytes";
    impl_->core->journal.append(note);
  }
  // Temporary files of saves cut short by a crash.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind(".installed.json.", 0) == 0) fs::remove(e.path(), ec);
  }
  std::weak_ptr<InstallerCore> weak = impl_->core;
  runtime.on_event([weak](const SlotEvent& e) {
    if (auto core = weak.lock()) core->on_event(e);
  });
}

Installer::~Installer() = default;

Status Installer::verify(const fs::path& bundle_dir, VerifiedBundle* out) {
  VerifiedBundle vb;
  if (Status s = impl_->core->verifier.verify(bundle_dir, &vb.manifest, &vb.checks); !s) {
    if (out != nullptr) *out = std::move(vb);
    return s;
  }
  Status s = impl_->check_policy(vb.manifest, bundle_dir, false, &vb.checks);
  if (out != nullptr) *out = std::move(vb);
  return s;
}

Status Installer::check(const fs::path& bundle_dir, std::string_view by, VerifiedBundle* out) {
  VerifiedBundle vb;
  Status s = verify(bundle_dir, &vb);
  if (!s) {
    (void)impl_->refuse(s, bundle_dir, vb.manifest.component,
                        vb.manifest.component.empty() ? "" : vb.manifest.version.to_string(),
                        std::string(by));
  }
  if (out != nullptr) *out = std::move(vb);
  return s;
}

struct PreparedInstall::Data {
  std::shared_ptr<InstallerCore> core;
  fs::path bundle_dir;
  std::string by;
  bool allow_older = false;
  Manifest manifest;
  BundleVerifier::Opened opened;  // the signed texts; the object's descriptor below
  detail::UniqueFd object;
  Artifact artifact;             // the store copy; empty until staged
  bool held = false;             // artifact.sha256 (or the manifest's) is in core->preparing
  detail::StoreHold store_hold;  // and no slot's failed load removes it meanwhile

  void hold(const std::string& sha) {
    std::lock_guard lock(core->state_mu);
    core->preparing.insert(sha);
    held = true;
    store_hold = detail::StoreHold(core->runtime.store(), sha);
  }
  // The copy is no longer held; dropped when nothing else names it either.
  void release(bool drop_copy) {
    if (!held) return;
    std::lock_guard lock(core->state_mu);
    core->preparing.erase(core->preparing.find(manifest.sha256));
    held = false;
    store_hold = detail::StoreHold();
    if (drop_copy && !artifact.sha256.empty() && core->removable(artifact.sha256)) {
      core->runtime.store().remove(artifact.sha256);
    }
  }
  ~Data() { release(false); }
};

PreparedInstall::PreparedInstall() = default;
PreparedInstall::~PreparedInstall() = default;
PreparedInstall::PreparedInstall(PreparedInstall&&) noexcept = default;
PreparedInstall& PreparedInstall::operator=(PreparedInstall&&) noexcept = default;

const std::string& PreparedInstall::component() const noexcept {
  static const std::string none;
  return data_ ? data_->manifest.component : none;
}

// The exact build that serves (same version and recorded sha256): nothing
// to do, so that automation can re-run an install safely.
bool Installer::Impl::already_serving(const Manifest& m, const fs::path& bundle_dir,
                                      const std::string& by, InstallOutcome& out) {
  SlotCore* slot = runtime().find(m.component);
  const std::optional<Version> serving = slot != nullptr ? slot->serving_version() : std::nullopt;
  out.component = m.component;
  out.from = serving ? serving->to_string() : std::string();
  if (!serving || *serving != m.version) return false;
  const std::string version = m.version.to_string();
  {
    std::lock_guard state_lock(core->state_mu);
    auto it = core->state.components.find(m.component);
    if (it == core->state.components.end()) return false;
    auto h = it->second.hashes.find(version);
    if (h == it->second.hashes.end() || h->second != m.sha256) return false;
  }
  out.version = version;
  out.already_serving = true;
  runtime().logger().info(
      "[{} {}] already serving this build (sha256 {}); bundle {} not installed again (by {})",
      m.component, version, m.sha256, bundle_dir.string(), by);
  return true;
}

// The version policy, then the store copy and the signed texts beside it,
// made durable with one fsync of the store's folder: all of it before any
// record names the copy.
Status Installer::Impl::stage(PreparedInstall::Data& d) {
  const Manifest& m = d.manifest;
  const fs::path& bundle_dir = d.bundle_dir;
  const std::string version = m.version.to_string();
  if (Status s = check_policy(m, bundle_dir, d.allow_older, nullptr); !s) {
    return refuse(s, bundle_dir, m.component, version, d.by);
  }
  // Held from before the copy exists: a prune that drops the same hash from
  // the records meanwhile leaves the file.
  d.hold(m.sha256);
  ArtifactStore& store = runtime().store();
  // Verify the copy that will be loaded: the bundle may change after the
  // check above, the store copy cannot.
  if (d.object) {
    if (Status s = store.put(d.object.get(), bundle_dir / m.file, m.size, &d.artifact,
                             /*sync_folder=*/false);
        !s) {
      d.release(false);
      return refuse(Status(s.code(), "bundle '" + bundle_dir.string() + "': " + s.message()),
                    bundle_dir, m.component, version, d.by);
    }
  } else {
    // Only the delta travelled: rebuild from the base in the store, checked
    // against the signed size and SHA-256 before the store takes it.
    std::string rebuilt;
    const std::string who =
        "bundle '" + bundle_dir.string() + "' (" + m.component + " " + version + ")";
    if (Status s = detail::rebuild_object(store, bundle_dir, m, who, &rebuilt); !s) {
      d.release(false);
      return refuse(s, bundle_dir, m.component, version, d.by);
    }
    if (Status s = store.put_bytes(rebuilt, bundle_dir / m.delta->file, &d.artifact,
                                   /*sync_folder=*/false);
        !s) {
      d.release(false);
      return refuse(Status(s.code(), who + ": " + s.message()), bundle_dir, m.component, version,
                    d.by);
    }
  }
  if (Status s = BundleVerifier::check_file(
          m, d.artifact.sha256, d.artifact.size,
          "bundle '" + bundle_dir.string() + "' (" + m.component + " " + version + "): store copy");
      !s) {
    // Not the signed hash: this copy was never held under its own name.
    {
      std::lock_guard state_lock(core->state_mu);
      if (core->removable(d.artifact.sha256)) store.remove(d.artifact.sha256);
    }
    d.release(false);
    return refuse(s, bundle_dir, m.component, version, d.by);
  }
  // What was signed stays signed on disk: restore() checks these again.
  bool written = d.artifact.written;
  for (const auto& [suffix, content] :
       {std::pair{ArtifactStore::kManifestSuffix, &d.opened.manifest_text},
        std::pair{ArtifactStore::kSignatureSuffix, &d.opened.signature_text}}) {
    bool this_written = false;
    if (Status s = store.put_beside(d.artifact.sha256, suffix, *content, /*sync_folder=*/false,
                                    &this_written);
        !s) {
      d.release(true);
      return refuse(
          Status(s.code(), "bundle '" + printable(bundle_dir.string()) + "': " + s.message()),
          bundle_dir, m.component, version, d.by);
    }
    written |= this_written;
  }
  // Nothing written, and a record names the copy: all three files were
  // durable before that record was saved (this same fsync ran first).
  bool recorded = false;
  {
    std::lock_guard state_lock(core->state_mu);
    recorded = core->recorded_anywhere(d.artifact.sha256);
  }
  if (Status s = written || !recorded ? store.sync_folder() : Status(); !s) {
    d.release(true);
    return refuse(
        Status(s.code(), "bundle '" + printable(bundle_dir.string()) + "': " + s.message()),
        bundle_dir, m.component, version, d.by);
  }
  return Status();
}

Status Installer::Impl::prepare(const fs::path& bundle_dir, const std::string& by, bool allow_older,
                                PreparedInstall* prepared, InstallOutcome& out) {
  out = InstallOutcome();
  auto d = std::make_unique<PreparedInstall::Data>();
  d->core = core;
  d->bundle_dir = bundle_dir;
  d->by = by;
  d->allow_older = allow_older;
  Status verified = core->verifier.verify_and_open(bundle_dir, &d->manifest, nullptr, &d->opened);
  // The descriptor that was hashed is the one copied into the store.
  d->object = detail::UniqueFd(d->opened.object_fd);
  d->opened.object_fd = -1;
  const Manifest& m = d->manifest;
  out.component = m.component;
  if (Status s = verified; !s) {
    return refuse(s, bundle_dir, m.component, m.component.empty() ? "" : m.version.to_string(), by);
  }
  // Serving already: nothing to copy (install_prepared looks again).
  if (!already_serving(m, bundle_dir, by, out)) {
    if (Status s = stage(*d); !s) return s;
  }
  prepared->data_ = std::move(d);
  return Status();
}

Status Installer::prepare(const fs::path& bundle_dir, std::string_view by, PreparedInstall* out,
                          InstallOutcome* outcome) {
  InstallOutcome local;
  return impl_->prepare(bundle_dir, std::string(by), false, out,
                        outcome != nullptr ? *outcome : local);
}

Status Installer::install(const fs::path& bundle_dir, const SwapOptions& options,
                          InstallOutcome* outcome) {
  InstallOutcome local;
  InstallOutcome& out = outcome != nullptr ? *outcome : local;
  PreparedInstall prepared;
  if (Status s = impl_->prepare(bundle_dir, options.by, options.allow_older, &prepared, out); !s) {
    return s;
  }
  return install_prepared(prepared, options, &out);
}

Status Installer::install_prepared(PreparedInstall& prepared, const SwapOptions& options,
                                   InstallOutcome* outcome) {
  InstallOutcome local;
  InstallOutcome& out = outcome != nullptr ? *outcome : local;
  out = InstallOutcome();
  if (!prepared.data_) {
    return Status(ErrorCode::invalid_argument,
                  "install_prepared: nothing prepared (or used already)");
  }
  // Used once: whatever happens, the copy is not held past this call.
  const std::unique_ptr<PreparedInstall::Data> held = std::move(prepared.data_);
  PreparedInstall::Data& d = *held;
  const Manifest& m = d.manifest;
  const fs::path& bundle_dir = d.bundle_dir;
  const std::string version = m.version.to_string();
  std::lock_guard lock(impl_->lock_for(m.component));
  if (impl_->already_serving(m, bundle_dir, options.by, out)) {
    d.release(true);
    return Status();
  }
  if (d.artifact.sha256.empty()) {
    // Prepared while this build served; something moved the slot since.
    if (Status s = impl_->stage(d); !s) return s;
  } else if (Status s = impl_->check_policy(m, bundle_dir, options.allow_older, nullptr); !s) {
    // The slot moved while the copy was made (e.g. a rollback ran).
    d.release(true);
    return impl_->refuse(s, bundle_dir, m.component, version, options.by);
  }
  SlotCore* slot = impl_->runtime().find(m.component);
  const Artifact artifact = d.artifact;
  SwapOptions swap = options;
  swap.expect_version = m.version;
  {
    std::lock_guard state_lock(impl_->core->state_mu);
    impl_->core->last_save = Status();
  }
  // A copy that ends up recorded nowhere (the load or the save failed) must
  // not stay in the store: nothing would ever remove it.
  bool known_before = false;
  ComponentRecord record_before;
  {
    std::lock_guard state_lock(impl_->core->state_mu);
    known_before = impl_->core->recorded_anywhere(artifact.sha256) ||
                   impl_->core->preparing.count(artifact.sha256) > 1;
    auto it = impl_->core->state.components.find(m.component);
    if (it != impl_->core->state.components.end()) record_before = it->second;
  }
  auto drop_unrecorded_copy = [&] { d.release(/*drop_copy=*/true); };
  CallInProgress call{m.component, false, &out};
  CallScope scope(&call);
  if (Status s = slot->install(artifact, swap); !s) {
    drop_unrecorded_copy();
    return impl_->refuse(s, bundle_dir, m.component, version, options.by, /*slot_logged=*/true);
  }
  d.release(false);  // recorded now (or undone below)
  Status saved;
  {
    std::lock_guard state_lock(impl_->core->state_mu);
    saved = impl_->core->last_save;
  }
  if (!saved) {
    // Serving a version the disk does not record would come back as another
    // version after a restart: undo the swap, and say why.
    const Status undone = slot->rollback("installer", SwapMode::immediate);
    if (undone) {
      // The slot is back where it was: so is the record (the swap had
      // raised the floor and recorded the new copy in memory only), and the
      // copy goes unless something recorded it before.
      std::lock_guard state_lock(impl_->core->state_mu);
      impl_->core->state.components[m.component] = record_before;
      impl_->core->save_locked();
      // Only if the disk does not name it either: a failed save may still
      // have renamed the new state into place, and then the copy is needed.
      InstalledState on_disk;
      bool on_disk_names_it = true;
      if (InstalledState::load(impl_->core->state_file, &on_disk)) {
        on_disk_names_it = false;
        for (const auto& [name, rec] : on_disk.components) {
          for (const auto& [v, sha] : rec.hashes)
            on_disk_names_it |= sha == artifact.sha256;
        }
      }
      if (!on_disk_names_it && !known_before && impl_->core->removable(artifact.sha256)) {
        // Neither the memory nor the disk names it: its record hold (kept
        // while a save had failed) goes with it.
        impl_->core->recorded_holds.erase(artifact.sha256);
        impl_->runtime().store().remove(artifact.sha256);
      }
    }
    return impl_->refuse(
        Status(saved.code(), "bundle '" + bundle_dir.string() + "' (" + m.component + " " +
                                 version + "): the installed state could not be saved (" +
                                 saved.message() + "); " +
                                 (undone ? "rolled back" : "rollback failed: " + undone.message())),
        bundle_dir, m.component, version, options.by);
  }
  JournalEntry j;
  j.event = "installed";
  j.component = m.component;
  j.version = version;
  j.by = options.by;
  j.bundle = bundle_dir.string();
  j.mode = out.mode;
  impl_->core->journal.append(j);
  return Status();
}

Status Installer::rollback(std::string_view component_view, std::string_view by_view, SwapMode mode,
                           InstallOutcome* outcome) {
  const std::string component(component_view);
  const std::string by(by_view);
  InstallOutcome local;
  InstallOutcome& out = outcome != nullptr ? *outcome : local;
  out = InstallOutcome();
  out.component = component;
  SlotCore* slot = impl_->runtime().find(component);
  if (slot == nullptr) {
    return impl_->refuse(Status(ErrorCode::unknown_component,
                                "this host has no slot for component '" + component + "'"),
                         {}, component, "", by);
  }
  std::lock_guard lock(impl_->lock_for(component));
  const SlotStatus now = slot->status();
  out.from = now.version;
  ComponentRecord rec;
  {
    std::lock_guard state_lock(impl_->core->state_mu);
    auto it = impl_->core->state.components.find(component);
    if (it != impl_->core->state.components.end()) rec = it->second;
  }
  if (!rec.previous) {
    return impl_->refuse(
        Status(ErrorCode::no_previous,
               "component '" + component + "': no previous version to roll back to (serving " +
                   (now.version.empty() ? std::string("nothing") : now.version) +
                   "; a rollback only goes back to the version an install replaced, once)"),
        {}, component, now.version, by);
  }
  const std::string target = rec.previous->to_string();
  CallInProgress call{component, false, &out};
  CallScope scope(&call);
  if (now.previous_version == target) {
    // The slot still holds the recorded previous version (probation).
    if (Status s = slot->rollback(by, mode); !s) {
      return impl_->refuse(s, {}, component, target, by, /*slot_logged=*/true);
    }
    return Status();
  }
  // After a commit or a restart: the recorded previous version's store copy.
  auto h = rec.hashes.find(target);
  if (h == rec.hashes.end()) {
    // A version the host loaded itself before the Installer listened (its
    // hash is not recorded): the slot still knows the file it replaced at
    // the swap that recorded it as previous.
    if (Status s = slot->rollback(by, mode); !s) {
      return impl_->refuse(s, {}, component, target, by, /*slot_logged=*/true);
    }
    return Status();
  }
  Artifact artifact;
  Status got = impl_->core->check_stored(std::string(component), *rec.previous, h->second);
  if (got) got = impl_->runtime().store().get(h->second, &artifact);
  if (!got) {
    return impl_->refuse(Status(got.code(), "component '" + component + "': cannot roll back to " +
                                                target + ": " + got.message()),
                         {}, component, target, by);
  }
  SwapOptions o;
  o.mode = mode;
  o.allow_older = true;
  o.expect_version = rec.previous;
  o.by = by;
  o.as_rollback = true;
  call.rollback = true;
  if (Status s = slot->install(artifact, o); !s) {
    return impl_->refuse(s, {}, component, target, by, /*slot_logged=*/true);
  }
  return Status();
}

Status Installer::revoke(const fs::path& revocation_dir) {
  return apply_revocation(
      revocation_dir, impl_->keys, impl_->runtime().options().state_dir,
      [this](const std::string& component) -> std::optional<Version> {
        std::lock_guard lock(impl_->core->state_mu);
        auto it = impl_->core->state.components.find(component);
        return it == impl_->core->state.components.end() ? std::nullopt : it->second.serving;
      },
      [this](const std::string& component) { return impl_->roll_back_below(component); },
      impl_->runtime().logger());
}

Status Installer::commit(std::string_view component, std::string_view by) {
  SlotCore* slot = impl_->runtime().find(component);
  if (slot == nullptr) {
    return Status(ErrorCode::unknown_component,
                  "this host has no slot for component '" + std::string(component) + "'");
  }
  return slot->commit(by);
}

Status Installer::restore() {
  const InstalledState& snapshot = impl_->at_start;
  Status result;
  auto& log = impl_->runtime().logger();
  for (const auto& [name, rec] : snapshot.components) {
    if (!rec.serving) continue;
    SlotCore* slot = impl_->runtime().find(name);
    if (slot == nullptr) {
      log.info("restore: component '{}' {} is recorded but this host declared no slot for it", name,
               rec.serving->to_string());
      continue;
    }
    if (slot->serving_version() == rec.serving) continue;
    // The recorded version first, then older recorded ones, newest first.
    // Newer ones are not candidates: they were rolled back.
    std::vector<Version> candidates{*rec.serving};
    for (const auto& [v, sha] : rec.hashes) {
      auto parsed = Version::parse(v);
      if (parsed && *parsed < *rec.serving) candidates.push_back(*parsed);
    }
    std::sort(candidates.begin() + 1, candidates.end(), std::greater<>());
    std::string failures;
    bool restored = false;
    for (const Version& v : candidates) {
      auto h = rec.hashes.find(v.to_string());
      Status s;
      Artifact artifact;
      if (h == rec.hashes.end()) {
        s = Status(ErrorCode::state_corrupt, "no recorded hash");
      } else if ((s = impl_->core->check_stored(name, v, h->second)) &&
                 (s = impl_->runtime().store().get(h->second, &artifact))) {
        SwapOptions o;
        o.allow_older = true;
        o.expect_version = v;
        o.by = "restore";
        s = slot->install(artifact, o);
      }
      if (s) {
        restored = true;
        if (v != *rec.serving) {
          const std::string why = "component '" + name + "': recorded version " +
                                  rec.serving->to_string() + " could not be restored (" + failures +
                                  "); fell back to " + v.to_string();
          log.error("restore: {}", why);
          impl_->core->journal.append({"restore_fallback", name, v.to_string(),
                                       rec.serving->to_string(), "restore", "state_corrupt", why,
                                       "", ""});
        } else {
          log.info("restore: component '{}' back on {}", name, v.to_string());
        }
        break;
      }
      failures += (failures.empty() ? "" : "; ") + v.to_string() + ": " + s.message();
    }
    if (!restored) {
      const std::string why =
          "component '" + name + "': no recorded version could be restored (" + failures + ")";
      log.error("restore: {}", why);
      impl_->core->journal.append({"restore_failed", name, rec.serving->to_string(), "", "restore",
                                   "state_corrupt", why, "", ""});
      result = Status(ErrorCode::state_corrupt, why);
    }
  }
  return result;
}

void Installer::record_refusal(std::string_view code, std::string_view message,
                               std::string_view component, std::string_view by,
                               const fs::path& bundle) {
  impl_->record(code, message, bundle, std::string(component), "", std::string(by), false);
}

InstalledState Installer::state() const {
  std::lock_guard lock(impl_->core->state_mu);
  return impl_->core->state;
}

}  // namespace graft
