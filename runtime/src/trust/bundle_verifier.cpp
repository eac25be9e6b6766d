#include <graft/bundle_verifier.hpp>

#include <graft/artifact_store.hpp>

#include "file_io.hpp"
#include "manifest_claims.hpp"
#include "printable.hpp"
#include "untrusted_file.hpp"

#include <algorithm>

namespace graft {
namespace fs = std::filesystem;

namespace {

// manifest.sig: 128 lower-case hex digits, a trailing newline allowed.
bool signature_form_ok(std::string_view sig) {
  if (sig.size() == 129 && sig.back() == '\n') sig.remove_suffix(1);
  return sig.size() == 128 && sig.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

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
  Opened opened;
  Status s = verify_and_open(dir, manifest, checks, &opened, now);
  detail::UniqueFd close_it(opened.object_fd);
  return s;
}

Status BundleVerifier::verify_signed_manifest(std::string_view text, std::string_view sig,
                                              const std::string& where, Manifest* manifest,
                                              std::vector<BundleCheck>* checks) const {
  std::vector<BundleCheck> local;
  std::vector<BundleCheck>& out = checks != nullptr ? *checks : local;
  auto fail = [&](const char* check, Status s) {
    out.push_back({check, false, s.message()});
    return s;
  };
  // Signature first: the bytes must verify with a trusted key before any
  // of them is parsed as a manifest.
  const PublicKey* signer = nullptr;
  if (signature_form_ok(sig)) {
    for (const auto& [id, key] : keys_.all()) {
      if (verify_detached(key, text, sig)) {
        signer = &key;
        break;
      }
    }
  }
  if (signer == nullptr) {
    // Say why, from what the unsigned bytes claim (read bounded, never
    // trusted): not a manifest at all, a key this host does not know, or a
    // signature that does not match.
    const detail::ManifestClaims claims = detail::read_manifest_claims(text);
    if (!claims.parsed) {
      return fail("manifest", Status(ErrorCode::bundle_invalid,
                                     where + ": manifest: " + printable(claims.error)));
    }
    if (manifest != nullptr) {
      manifest->component = claims.component;
      if (auto v = Version::parse(claims.version)) manifest->version = *v;
    }
    const std::string who =
        where + " (" + printable(claims.component) + " " + printable(claims.version) + ")";
    if (keys_.find(claims.key_id) == nullptr) {
      return fail("trusted key", Status(ErrorCode::unknown_key,
                                        who + ": signed with key " + printable(claims.key_id) +
                                            ", which this host does not trust"));
    }
    return fail("signature", Status(ErrorCode::bad_signature,
                                    who +
                                        ": bad signature: manifest.sig does not verify the "
                                        "manifest's exact bytes with key " +
                                        claims.key_id));
  }
  Manifest m;
  if (Status s = Manifest::parse(text, &m); !s) {
    return fail("manifest", Status(s.code(), where + ": " + s.message()));
  }
  const std::string who = where + " (" + printable(m.component) + " " + m.version.to_string() + ")";
  if (m.key_id != signer->key_id()) {
    return fail("signature", Status(ErrorCode::bad_signature,
                                    who + ": manifest names key " + m.key_id +
                                        " but was signed with key " + signer->key_id()));
  }
  out.push_back(
      {"manifest", true,
       printable(m.component) + " " + m.version.to_string() + " for " + m.applies_to.to_string()});
  out.push_back({"trusted key", true, m.key_id});
  out.push_back({"signature", true, "ed25519 over manifest.json"});
  if (manifest != nullptr) *manifest = m;
  return Status();
}

Status BundleVerifier::verify_and_open(const fs::path& dir, Manifest* manifest,
                                       std::vector<BundleCheck>* checks, Opened* opened,
                                       std::time_t now) const {
  std::vector<BundleCheck> local;
  std::vector<BundleCheck>& out = checks != nullptr ? *checks : local;
  out.clear();
  const std::string where = "bundle '" + printable(dir.string()) + "'";
  auto fail = [&](const char* check, Status s) {
    out.push_back({check, false, s.message()});
    return s;
  };
  auto pass = [&](const char* check, std::string detail) {
    out.push_back({check, true, std::move(detail)});
  };

  detail::UniqueFd dir_fd;
  std::string error;
  detail::FileRefusal folder = detail::FileRefusal::none;
  if (!detail::open_folder(dir, false, &dir_fd, &error, &folder)) {
    return fail("bundle folder",
                Status(folder == detail::FileRefusal::missing ? ErrorCode::file_missing
                                                              : ErrorCode::bundle_invalid,
                       folder == detail::FileRefusal::missing ? where + ": no such folder"
                                                              : where + ": " + error));
  }
  const std::string shown_dir = dir.string() + "/";
  // Raw bytes, bounded, from regular files only: a FIFO, a device or a
  // 100 MB file is refused before a byte is read.
  detail::UntrustedFile manifest_file =
      detail::UntrustedFile::open_at(dir_fd.get(), "manifest.json", kManifestMaxBytes, shown_dir);
  std::string text;
  if (!manifest_file.read_all(&text)) {
    return fail("manifest",
                Status(ErrorCode::bundle_invalid, where + ": " + manifest_file.error()));
  }
  detail::UntrustedFile sig_file =
      detail::UntrustedFile::open_at(dir_fd.get(), "manifest.sig", kSignatureMaxBytes, shown_dir);
  std::string sig;
  if (!sig_file.read_all(&sig)) {
    // Name the bundle by what it claims; nothing of it is trusted.
    const detail::ManifestClaims claims = detail::read_manifest_claims(text);
    if (manifest != nullptr && claims.parsed) {
      manifest->component = claims.component;
      if (auto v = Version::parse(claims.version)) manifest->version = *v;
    }
    const std::string who = claims.parsed ? where + " (" + printable(claims.component) + " " +
                                                printable(claims.version) + ")"
                                          : where;
    return fail("signature",
                Status(ErrorCode::bad_signature, who + ": no signature: " + sig_file.error()));
  }
  Manifest m;
  if (Status s = verify_signed_manifest(text, sig, where, &m, &out); !s) {
    if (manifest != nullptr) {
      manifest->component = m.component;
      manifest->version = m.version;
    }
    return s;
  }
  // Known from here on, even if a later check fails (refusals name it).
  if (manifest != nullptr) *manifest = m;

  const std::string who = where + " (" + printable(m.component) + " " + m.version.to_string() + ")";
  if (m.expires <= now) {
    return fail("expiry",
                Status(ErrorCode::expired, who + ": expired at " + format_utc(m.expires)));
  }
  if (m.created > now + kCreatedSkewSeconds) {
    return fail("expiry",
                Status(ErrorCode::bundle_invalid, who + ": created " + format_utc(m.created) +
                                                      ", in the future (this host's clock says " +
                                                      format_utc(now) + ")"));
  }
  pass("expiry", "valid until " + format_utc(m.expires));

  // A delta present is checked even beside the object, so that a bundle
  // serving every host is whole for every host.
  detail::UntrustedFile object =
      detail::UntrustedFile::open_at(dir_fd.get(), m.file, m.size, shown_dir);
  const bool has_object = object.refusal() != detail::FileRefusal::missing;
  if (m.delta) {
    detail::UntrustedFile delta =
        detail::UntrustedFile::open_at(dir_fd.get(), m.delta->file, m.delta->size, shown_dir);
    const bool has_delta = delta.refusal() != detail::FileRefusal::missing;
    if (has_delta || !has_object) {
      std::string delta_hex;
      std::uint64_t delta_size = 0;
      if (!delta.ok() || !delta.sha256(&delta_hex, &delta_size)) {
        if (!has_delta) {
          return fail("delta", Status(ErrorCode::file_missing,
                                      who + ": neither the shared object '" + printable(m.file) +
                                          "' nor its delta '" + printable(m.delta->file) +
                                          "' is in the bundle"));
        }
        return fail("delta", Status(delta.refusal() == detail::FileRefusal::too_large
                                        ? ErrorCode::size_mismatch
                                        : ErrorCode::bundle_invalid,
                                    who + ": delta " + delta.error()));
      }
      if (delta_size != m.delta->size) {
        return fail("delta",
                    Status(ErrorCode::size_mismatch, who + ": delta '" + printable(m.delta->file) +
                                                         "' is " + std::to_string(delta_size) +
                                                         " bytes, the signed manifest says " +
                                                         std::to_string(m.delta->size)));
      }
      if (delta_hex != m.delta->sha256) {
        return fail("delta", Status(ErrorCode::hash_mismatch,
                                    who + ": delta '" + printable(m.delta->file) + "': SHA-256 " +
                                        delta_hex + " differs from the signed manifest's " +
                                        m.delta->sha256));
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
      if (opened != nullptr) {
        opened->manifest_text = std::move(text);
        opened->signature_text = std::move(sig);
      }
      return Status();
    }
  }

  // The shared object: its size is known from the signed manifest before a
  // byte is read, and the descriptor that is hashed is the one handed on.
  if (object.refusal() == detail::FileRefusal::too_large) {
    return fail("size",
                check_file(m, m.sha256, object.size(), who + ": '" + printable(m.file) + "'"));
  }
  if (!object.ok()) {
    const ErrorCode code =
        object.refusal() == detail::FileRefusal::missing      ? ErrorCode::file_missing
        : object.refusal() == detail::FileRefusal::unreadable ? ErrorCode::io_error
                                                              : ErrorCode::bundle_invalid;
    const std::string text_of_refusal =
        object.refusal() == detail::FileRefusal::missing
            ? "shared object '" + printable(shown_dir + m.file) + "' is missing"
            : "shared object " + object.error();
    return fail("shared object", Status(code, who + ": " + text_of_refusal));
  }
  if (Status s = check_file(m, m.sha256, object.size(), who + ": '" + printable(m.file) + "'");
      !s) {
    return fail("size", s);
  }
  std::string hex;
  std::uint64_t size = 0;
  if (!object.sha256(&hex, &size)) {
    return fail("shared object",
                Status(object.refusal() == detail::FileRefusal::too_large ? ErrorCode::size_mismatch
                                                                          : ErrorCode::io_error,
                       who + ": shared object " + object.error()));
  }
  if (Status s = check_file(m, hex, size, who + ": '" + printable(m.file) + "'"); !s) {
    return fail(s.code() == ErrorCode::size_mismatch ? "size" : "sha256", s);
  }
  pass("size", std::to_string(size) + " bytes");
  pass("sha256", hex);
  if (opened != nullptr) {
    opened->object_fd = object.release();
    opened->manifest_text = std::move(text);
    opened->signature_text = std::move(sig);
  }
  return Status();
}

}  // namespace graft
