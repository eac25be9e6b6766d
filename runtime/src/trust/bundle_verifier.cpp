#include <graft/bundle_verifier.hpp>

#include <graft/artifact_store.hpp>

#include "file_io.hpp"

namespace graft {
namespace fs = std::filesystem;

Status TrustedKeys::load(const std::vector<fs::path>& files, TrustedKeys* out) {
  TrustedKeys keys;
  for (const auto& f : files) {
    PublicKey k;
    if (Status s = read_public_key(f, &k); !s) return s;
    keys.add(k);
  }
  *out = std::move(keys);
  return Status();
}

const PublicKey* TrustedKeys::find(const std::string& key_id) const {
  auto it = keys_.find(key_id);
  return it == keys_.end() ? nullptr : &it->second;
}

Status BundleVerifier::check_file(const Manifest& m, const std::string& sha256, std::uint64_t size,
                                  const std::string& what) {
  if (size != m.size) {
    return Status(ErrorCode::size_mismatch, what + ": is " + std::to_string(size) +
                                                " bytes, the signed manifest says " +
                                                std::to_string(m.size));
  }
  if (sha256 != m.sha256) {
    return Status(ErrorCode::hash_mismatch,
                  what + ": SHA-256 " + sha256 + " differs from the signed manifest's " + m.sha256);
  }
  return Status();
}

Status BundleVerifier::verify(const fs::path& dir, Manifest* manifest,
                              std::vector<BundleCheck>* checks, std::time_t now) const {
  std::vector<BundleCheck> local;
  std::vector<BundleCheck>& out = checks != nullptr ? *checks : local;
  out.clear();
  const std::string where = "bundle '" + dir.string() + "'";
  auto fail = [&](const char* check, Status s) {
    out.push_back({check, false, s.message()});
    return s;
  };
  auto pass = [&](const char* check, std::string detail) {
    out.push_back({check, true, std::move(detail)});
  };

  if (!fs::is_directory(dir)) {
    return fail("bundle folder", Status(ErrorCode::file_missing, where + ": no such folder"));
  }
  std::string text;
  std::string error;
  if (!detail::read_whole_file(dir / "manifest.json", &text, &error)) {
    return fail("manifest", Status(ErrorCode::bundle_invalid, where + ": " + error));
  }
  Manifest m;
  if (Status s = Manifest::parse(text, &m); !s) {
    return fail("manifest", Status(s.code(), where + ": " + s.message()));
  }
  pass("manifest", m.component + " " + m.version.to_string() + " for " + m.applies_to.to_string());
  // Known from here on, even if a later check fails (refusals name it).
  if (manifest != nullptr) *manifest = m;

  const std::string who = where + " (" + m.component + " " + m.version.to_string() + ")";
  const PublicKey* key = keys_.find(m.key_id);
  if (key == nullptr) {
    return fail("trusted key",
                Status(ErrorCode::unknown_key,
                       who + ": signed with key " + m.key_id + ", which this host does not trust"));
  }
  pass("trusted key", m.key_id);
  std::string sig;
  if (!detail::read_whole_file(dir / "manifest.sig", &sig, &error)) {
    return fail("signature", Status(ErrorCode::bad_signature, who + ": no signature: " + error));
  }
  if (!verify_detached(*key, text, sig)) {
    return fail("signature", Status(ErrorCode::bad_signature,
                                    who +
                                        ": bad signature: manifest.sig does not verify the "
                                        "manifest's exact bytes with key " +
                                        m.key_id));
  }
  pass("signature", "ed25519 over manifest.json");
  if (m.expires <= now) {
    return fail("expiry",
                Status(ErrorCode::expired, who + ": expired at " + format_utc(m.expires)));
  }
  pass("expiry", "valid until " + format_utc(m.expires));

  const fs::path so = dir / m.file;
  std::error_code ec;
  const bool has_object = fs::symlink_status(so, ec).type() != fs::file_type::not_found;
  if (m.delta) {
    // A delta present is checked even beside the object, so that a bundle
    // serving every host is whole for every host.
    const fs::path delta = dir / m.delta->file;
    const bool has_delta = fs::symlink_status(delta, ec).type() != fs::file_type::not_found;
    if (has_delta || !has_object) {
      std::uint64_t delta_size = 0;
      const std::string delta_hex = sha256_file(delta, &delta_size);
      if (delta_hex.empty()) {
        return fail("delta", Status(ErrorCode::file_missing, who + ": neither the shared object '" +
                                                                 m.file + "' nor its delta '" +
                                                                 m.delta->file + "' is readable"));
      }
      if (delta_size != m.delta->size) {
        return fail(
            "delta",
            Status(ErrorCode::size_mismatch,
                   who + ": delta '" + m.delta->file + "' is " + std::to_string(delta_size) +
                       " bytes, the signed manifest says " + std::to_string(m.delta->size)));
      }
      if (delta_hex != m.delta->sha256) {
        return fail("delta", Status(ErrorCode::hash_mismatch,
                                    who + ": delta '" + m.delta->file + "': SHA-256 " + delta_hex +
                                        " differs from the signed manifest's " + m.delta->sha256));
      }
      pass("delta", std::to_string(delta_size) + " bytes, rebuilds from base sha256 " +
                        m.delta->base_sha256);
    }
    if (!has_object) {
      // Only a host holding the base can rebuild the object; the installer
      // checks the rebuilt bytes against the signed size and SHA-256.
      pass("shared object", "not in the bundle: a host holding base sha256 " +
                                m.delta->base_sha256 + " rebuilds it and checks " +
                                std::to_string(m.size) + " bytes, sha256 " + m.sha256);
      return Status();
    }
  }
  std::uint64_t size = 0;
  const std::string hex = sha256_file(so, &size);
  if (hex.empty()) {
    return fail("shared object", Status(ErrorCode::file_missing,
                                        who + ": shared object '" + so.string() + "' is missing"));
  }
  if (Status s = check_file(m, hex, size, who + ": '" + m.file + "'"); !s) {
    return fail(s.code() == ErrorCode::size_mismatch ? "size" : "sha256", s);
  }
  pass("size", std::to_string(size) + " bytes");
  pass("sha256", hex);
  return Status();
}

}  // namespace graft
