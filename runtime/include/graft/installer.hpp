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
  // Copies the shared object into the store, verifies the copy against the
  // signed manifest, checks the version policy, and swaps it in. With
  // options.allow_older, a bundle of the version that was serving just
  // before is accepted (an explicit operator rollback).
  Status install(const std::filesystem::path& bundle_dir, const SwapOptions& options = {});
  Status rollback(std::string_view component, std::string_view by = "operator");
  Status commit(std::string_view component, std::string_view by = "operator");
  // A signed revocation folder (graft/revocation.hpp): recorded, so the
  // version is refused from now on, and rolled back if it serves.
  Status revoke(const std::filesystem::path& revocation_dir);
  // At host start, after the slots are declared: loads each recorded serving
  // version from the store, verifying it again. A corrupt or missing
  // artifact falls back to the newest good version, said in log and journal.
  Status restore();
  InstalledState state() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace graft

#pragma GCC visibility pop
