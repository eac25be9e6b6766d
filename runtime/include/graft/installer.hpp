// Installs signed bundles into a runtime's slots: only a patch signed by a
// trusted key, for the right base, not older than what was ever installed,
// and intact, ever reaches dlopen. Keeps the installed state and the journal.
//
//   graft::Installer installer(*runtime, {{"/etc/myhost/keys/ops.pub"}});
//   installer.restore();                    // back on the versions it had
//   installer.install("/var/lib/myhost/inbox/origin_guard-26.3.1-a");
#pragma once

#include <graft/artifact_store.hpp>
#include <graft/bundle_verifier.hpp>
#include <graft/installed_state.hpp>
#include <graft/journal.hpp>
#include <graft/manifest.hpp>
#include <graft/runtime.hpp>
#include <graft/slot.hpp>
#include <graft/status.hpp>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

struct InstallerOptions {
  std::vector<std::filesystem::path> trusted_keys;  // public key files written by keygen
  // Versions per component that installed.json and the store keep. Serving,
  // previous, highest and the one running are always kept; the rest are the
  // newest below serving (restore's fallbacks). Older files leave the store.
  std::size_t kept_versions = 4;
};

struct VerifiedBundle {
  Manifest manifest;
  Artifact artifact;  // set by install (the store copy); empty after verify
  std::vector<BundleCheck> checks;
};

// What an install or a rollback did, for replies and logs.
struct InstallOutcome {
  std::string component;
  std::string version;           // serving now
  std::string from;              // serving before
  bool already_serving = false;  // that exact build (same sha256) was serving: nothing done
  std::string mode;              // the swap mode that ran: "immediate" or "quiesce"
  std::string note;              // the slot's extra words, e.g. why state was not carried
};

// A bundle that Installer::prepare() verified and copied into the store,
// ready for Installer::install_prepared(). While it lives, its store copy
// is not pruned. Move-only.
class PreparedInstall {
 public:
  PreparedInstall();
  ~PreparedInstall();
  PreparedInstall(PreparedInstall&&) noexcept;
  PreparedInstall& operator=(PreparedInstall&&) noexcept;
  // The component its signed manifest names (empty when the bundle could
  // not be read that far).
  const std::string& component() const noexcept;

 private:
  friend class Installer;
  struct Data;
  std::unique_ptr<Data> data_;
};

class Installer {
 public:
  // Reads the trusted keys and <state_dir>/installed.json. Throws graft::Error
  // when a key file cannot be read.
  Installer(Runtime& runtime, InstallerOptions options);
  ~Installer();
  Installer(const Installer&) = delete;
  Installer& operator=(const Installer&) = delete;

  // Every check, including the version policy against the installed state;
  // installs nothing.
  Status verify(const std::filesystem::path& bundle_dir, VerifiedBundle* out = nullptr);
  // verify(), and a refusal goes on record (journal and log) as an
  // install's would: for bundles held for approval.
  Status check(const std::filesystem::path& bundle_dir, std::string_view by,
               VerifiedBundle* out = nullptr);
  // Copies the shared object into the store, verifies the copy against the
  // signed manifest, checks the version policy, and swaps it in. With
  // options.allow_older, a bundle of the version that was serving just
  // before is accepted (an explicit operator rollback). The exact build
  // that serves already (same version and sha256) is not installed again:
  // success, with outcome->already_serving. Every refusal, at any stage,
  // is journaled and logged once.
  Status install(const std::filesystem::path& bundle_dir, const SwapOptions& options = {},
                 InstallOutcome* outcome = nullptr);
  // install() in its two halves, for a host that runs one change per
  // component at a time but must not hold a component's rollback or commit
  // behind the slow part of an install (ControlPlane does this).
  // prepare(): every check of the bundle, the version policy against what
  // serves now, and the store copy made durable; nothing a caller sees
  // changes. install_prepared(): under the component's lock, the version
  // policy again (a rollback may have run in between), then the load and
  // the swap. Refusals of either half are on record as install()'s are.
  Status prepare(const std::filesystem::path& bundle_dir, std::string_view by, PreparedInstall* out,
                 InstallOutcome* outcome = nullptr);
  Status install_prepared(PreparedInstall& prepared, const SwapOptions& options = {},
                          InstallOutcome* outcome = nullptr);
  // Back to the recorded previous version, and only there: the one kept
  // loaded in probation, or its store copy after a commit or a restart.
  // A rollback clears the record of a previous version, so a second one is
  // refused with no_previous (it never moves forward again).
  Status rollback(std::string_view component, std::string_view by = "operator",
                  SwapMode mode = SwapMode::automatic, InstallOutcome* outcome = nullptr);
  Status commit(std::string_view component, std::string_view by = "operator");
  // A signed revocation folder (graft/revocation.hpp): recorded, so the
  // version is refused from now on, and rolled back if it serves.
  Status revoke(const std::filesystem::path& revocation_dir);
  // At host start, after the slots are declared: loads each recorded serving
  // version from the store, verifying it again. A corrupt or missing
  // artifact falls back to the newest good version, said in log and journal.
  Status restore();
  InstalledState state() const;
  // Puts a refusal decided outside the Installer on record the same way
  // (journal line and log line): e.g. a control request that expired.
  // `code` names the cause (an ErrorCode name, or e.g. "request_expired").
  void record_refusal(std::string_view code, std::string_view message, std::string_view component,
                      std::string_view by, const std::filesystem::path& bundle = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace graft

#pragma GCC visibility pop
