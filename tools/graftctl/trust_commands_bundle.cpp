#include "trust_commands_bundle.hpp"

#include "exit_codes.hpp"
#include "trust_commands_descriptor.hpp"

#include <graft/abi.h>
#include <graft/artifact_store.hpp>
#include <graft/manifest.hpp>
#include <graft/signing_key.hpp>

#include "trust/delta_object.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <ctime>
#include <fstream>

namespace graftctl {
namespace {

namespace fs = std::filesystem;

BundleResult failure(int code, std::string message) {
  BundleResult r;
  r.exit_code = code;
  r.error = std::move(message);
  return r;
}

bool write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

// Removes the staging folder unless the bundle was renamed into place.
struct StagingDir {
  fs::path path;
  bool keep = false;
  ~StagingDir() {
    if (!keep && !path.empty()) {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  }
};

// The base object named by --delta-from: a shared object, or a bundle
// folder's object (checked against that bundle's manifest, so the delta is
// made against exactly what hosts installed from it).
BundleResult read_delta_base(const fs::path& from, std::string* base) {
  std::error_code ec;
  fs::path file = from;
  std::string expected_sha;
  if (fs::is_directory(from, ec)) {
    std::string text;
    if (graft::Status s = graft::detail::read_bounded_file(from / "manifest.json", 1 << 20, &text);
        !s) {
      return failure(s.code() == graft::ErrorCode::file_missing ? kExitNotFound : kExitError,
                     "--delta-from '" + from.string() + "': " + s.message());
    }
    graft::Manifest bm;
    if (graft::Status s = graft::Manifest::parse(text, &bm); !s) {
      return failure(kExitRefused, "--delta-from '" + from.string() + "': " + s.message());
    }
    file = from / bm.file;
    expected_sha = bm.sha256;
  }
  if (!fs::is_regular_file(file, ec)) {
    return failure(kExitNotFound, "--delta-from: base object '" + file.string() +
                                      "' does not exist (a delta needs the full base object)");
  }
  if (graft::Status s = graft::detail::read_bounded_file(file, graft::detail::kMaxDeltaSpan, base);
      !s) {
    return failure(kExitError, "--delta-from: " + s.message());
  }
  if (!expected_sha.empty() && graft::sha256_hex(base->data(), base->size()) != expected_sha) {
    return failure(kExitRefused, "--delta-from: base object '" + file.string() +
                                     "' does not match its bundle's manifest (sha256 " +
                                     expected_sha + ")");
  }
  return BundleResult{};
}

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  const std::string_view digits = text.substr(0, text.size() - 1);
  long long count = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (ec != std::errc() || end != digits.data() + digits.size() || count <= 0) return std::nullopt;
  long long unit_seconds = 0;
  switch (unit) {
    case 's':
      unit_seconds = 1;
      break;
    case 'm':
      unit_seconds = 60;
      break;
    case 'h':
      unit_seconds = 3600;
      break;
    case 'd':
      unit_seconds = 86400;
      break;
    default:
      return std::nullopt;
  }
  constexpr long long kTenYears = 3650LL * 86400;
  if (count > kTenYears / unit_seconds) return std::nullopt;
  return std::chrono::seconds(count * unit_seconds);
}

BundleResult write_bundle(const BundleRequest& rq) {
  std::error_code ec;
  // A public key given where the secret key belongs is the likely mistake:
  // say so before anything about its permissions.
  auto looks_public = [](const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    char head[21] = {};
    in.read(head, sizeof head);
    return in.gcount() == sizeof head &&
           std::string_view(head, sizeof head) == "graft-ed25519-public ";
  };
  if (rq.secret_key.extension() == ".pub" || looks_public(rq.secret_key)) {
    return failure(kExitUsage, "'" + rq.secret_key.string() +
                                   "' is a public key; --key wants the secret key file (the "
                                   ".key file keygen wrote beside it)");
  }
  // The secret key first: refuse one that others can read, like ssh does.
  struct stat key_stat {};
  if (::stat(rq.secret_key.c_str(), &key_stat) != 0) {
    return failure(kExitNotFound, "secret key '" + rq.secret_key.string() + "' does not exist");
  }
  if ((key_stat.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(key_stat.st_mode & 07777));
    return failure(kExitRefused, "secret key '" + rq.secret_key.string() +
                                     "' is readable by group or others (mode " + mode +
                                     "); chmod 600 it");
  }
  graft::SecretKey key;
  if (graft::Status s = graft::read_secret_key(rq.secret_key, &key); !s) {
    return failure(kExitUsage, s.message());  // not a key: the wrong file was given
  }
  if (!fs::is_regular_file(rq.shared_object, ec)) {
    return failure(kExitNotFound,
                   "shared object '" + rq.shared_object.string() + "' does not exist");
  }
  if (rq.version.is_response() && rq.applies_to != rq.version.base()) {
    return failure(kExitRefused, "version " + rq.version.to_string() + " is a response to " +
                                     rq.version.base().to_string() + "; it cannot apply to " +
                                     rq.applies_to.to_string());
  }
  if (rq.delta_only && rq.delta_from.empty()) {
    return failure(kExitUsage, "--delta-only needs --delta-from (the base the delta applies to)");
  }
  std::string delta_base;
  if (!rq.delta_from.empty()) {
    if (BundleResult r = read_delta_base(rq.delta_from, &delta_base); r.exit_code != kExitOk) {
      return r;
    }
  }
  if (fs::exists(rq.out, ec) && !(fs::is_directory(rq.out, ec) && fs::is_empty(rq.out, ec))) {
    return failure(kExitRefused,
                   "'" + rq.out.string() + "' already exists and is not an empty folder");
  }

  const fs::path out = fs::absolute(rq.out, ec);
  StagingDir staging;
  staging.path = out.parent_path() /
                 ("." + out.filename().string() + ".partial-" + std::to_string(::getpid()));
  fs::remove_all(staging.path, ec);
  if (!fs::create_directories(staging.path, ec)) {
    return failure(kExitError, "cannot create '" + staging.path.string() + "': " + ec.message());
  }
  // Everything below reads the bundle's own copy, so the name, the hash and
  // the size in the manifest all describe the same bytes.
  const std::string file_name = rq.shared_object.filename().string();
  const fs::path copy = staging.path / file_name;
  if (!fs::copy_file(rq.shared_object, copy, ec)) {
    return failure(kExitError, "cannot copy '" + rq.shared_object.string() +
                                   "' into the bundle: " + ec.message());
  }
  std::string why;
  const auto identity = read_component_identity(copy, &why);
  if (!identity) {
    return failure(kExitRefused, "'" + rq.shared_object.string() + "': " + why);
  }
  const auto descriptor_version = graft::Version::parse(identity->version, &why);
  if (!descriptor_version) {
    return failure(kExitRefused, "'" + rq.shared_object.string() + "' (component " +
                                     identity->name + ") reports an invalid version: " + why);
  }
  if (*descriptor_version != rq.version) {
    return failure(kExitRefused, "'" + rq.shared_object.string() + "' is " + identity->name + " " +
                                     descriptor_version->to_string() + ", not " +
                                     rq.version.to_string() +
                                     " as --version says; a manifest must agree with its code");
  }

  graft::Manifest m;
  m.component = identity->name;
  m.version = rq.version;
  m.applies_to = rq.applies_to;
  m.abi_version = identity->abi_version;
  m.interface_id = identity->interface_id;
  m.interface_major = identity->interface_major;
  m.file = file_name;
  m.sha256 = graft::sha256_file(copy, &m.size);
  if (m.sha256.empty()) return failure(kExitError, "cannot read back '" + copy.string() + "'");
  m.created = std::time(nullptr);
  m.expires = m.created + static_cast<std::time_t>(rq.lifetime.count());
  m.key_id = key.public_key().key_id();
  if (!rq.delta_from.empty()) {
    std::string object;
    if (graft::Status s = graft::detail::read_bounded_file(copy, m.size, &object); !s) {
      return failure(kExitError, "cannot read back '" + copy.string() + "': " + s.message());
    }
    std::string delta;
    if (graft::Status s = graft::detail::make_delta(delta_base, object, &delta); !s) {
      return failure(kExitRefused, "--delta-from: " + s.message());
    }
    graft::ManifestDelta d;
    d.base_sha256 = graft::sha256_hex(delta_base.data(), delta_base.size());
    d.file = file_name + ".zst-delta";
    d.sha256 = graft::sha256_hex(delta.data(), delta.size());
    d.size = delta.size();
    if (!write_text(staging.path / d.file, delta)) {
      return failure(kExitError, "cannot write the delta into '" + staging.path.string() + "'");
    }
    // The delta must rebuild exactly what the manifest signs.
    std::string rebuilt;
    if (graft::Status s = graft::detail::apply_delta(delta_base, delta, m.size, &rebuilt);
        !s || rebuilt != object) {
      return failure(kExitError, "the delta made against '" + rq.delta_from.string() +
                                     "' does not rebuild the object");
    }
    m.delta = d;
    if (rq.delta_only) fs::remove(copy, ec);
  }
  const std::string manifest_text = m.to_json();
  const std::string signature = graft::sign_detached(key, manifest_text);
  if (!write_text(staging.path / "manifest.json", manifest_text) ||
      !write_text(staging.path / "manifest.sig", signature + "\n")) {
    return failure(kExitError, "cannot write the manifest into '" + staging.path.string() + "'");
  }
  // rename(2) replaces an empty folder, and only an empty one.
  fs::rename(staging.path, out, ec);
  if (ec) {
    return failure(kExitError,
                   "cannot move the bundle into '" + out.string() + "': " + ec.message());
  }
  staging.keep = true;

  BundleResult r;
  r.summary = "wrote bundle " + out.string() + "\n" + "  component   " + m.component + " " +
              m.version.to_string() + ", applies to " + m.applies_to.to_string() + "\n" +
              "  interface   " + m.interface_id + " v" + std::to_string(m.interface_major) +
              ", graft ABI " + std::to_string(m.abi_version) + "\n" + "  file        " + m.file +
              " (" + std::to_string(m.size) + " bytes, sha256 " + m.sha256 + ")\n" +
              (m.delta ? "  delta       " + m.delta->file + " (" + std::to_string(m.delta->size) +
                             " bytes, from base sha256 " + m.delta->base_sha256 + ")" +
                             (rq.delta_only ? "; the object is left out" : "") + "\n"
                       : std::string()) +
              "  signed by   " + m.key_id + "\n" + "  expires     " + graft::format_utc(m.expires) +
              "\n";
  return r;
}

}  // namespace graftctl
