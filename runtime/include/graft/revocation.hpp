// Revocations: a signed statement that one version of a component must not
// run. A host that serves it rolls back to its previous version, and
// refuses that version from then on (the list is kept in the state
// directory, so a restart does not forget it). A later version installs as
// usual.
//
// A revocation is a folder, dropped into a host's inbox like a bundle:
//
//   revocation.json   {"format": "graft-revocation/1", "component": "greeter",
//                      "version": "1.2.0", "reason": "...", "created": "...Z",
//                      "key_id": "..."}
//   revocation.sig    ed25519 over revocation.json's exact bytes (hex), with a
//                     key the host trusts for bundles
#pragma once

#include <graft/bundle_verifier.hpp>
#include <graft/status.hpp>
#include <graft/version.hpp>

#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace spdlog {
class logger;
}

namespace graft {

inline constexpr const char* kRevocationFormat = "graft-revocation/1";

struct Revocation {
  std::string component;
  Version version;
  std::string reason;
  std::time_t created = 0;
  std::string key_id;

  std::string to_json() const;
  static Status parse(std::string_view text, Revocation* out);
};

// Signs `r` (its key_id is set from the key) into `dir`/revocation.json and
// revocation.sig. The folder must not exist or be empty.
Status write_revocation(const std::filesystem::path& dir, Revocation r, const SecretKey& key);
// The text and signature as one verifies them (for carrying elsewhere).
Status sign_revocation(Revocation r, const SecretKey& key, std::string* text,
                       std::string* signature);
// The signature with `keys` first, then the fields.
Status verify_revocation(const std::string& text, const std::string& signature,
                         const TrustedKeys& keys, Revocation* out);
// True when the folder holds a revocation.json (and so is not a bundle).
bool is_revocation_folder(const std::filesystem::path& dir);
// Reads the folder (bounded) and verifies it.
Status read_revocation(const std::filesystem::path& dir, const TrustedKeys& keys, Revocation* out);

// <state dir>/revoked.json: the versions this host refuses.
class RevocationList {
 public:
  explicit RevocationList(std::filesystem::path state_dir);
  // Whether (component, version) is revoked; `why` gets its reason.
  bool revoked(const std::string& component, const Version& version,
               std::string* why = nullptr) const;
  Status add(const Revocation& r);

 private:
  std::filesystem::path file_;
};

// Applies a revocation folder to a host: verified with `keys`, recorded in
// the list, and when `serving(component)` is the revoked version,
// `roll_back(component)` is called.
Status apply_revocation(const std::filesystem::path& dir, const TrustedKeys& keys,
                        const std::filesystem::path& state_dir,
                        const std::function<std::optional<Version>(const std::string&)>& serving,
                        const std::function<Status(const std::string&)>& roll_back,
                        spdlog::logger& log);

}  // namespace graft

#pragma GCC visibility pop
