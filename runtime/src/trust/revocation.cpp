#include <graft/revocation.hpp>

#include <graft/manifest.hpp>
#include <graft/signing_key.hpp>

#include "file_io.hpp"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace graft {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxRevocationBytes = 16 * 1024;

bool read_capped(const fs::path& file, std::size_t cap, std::string* out, std::string* error) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec) {
    *error = file.filename().string() + ": " + ec.message();
    return false;
  }
  if (size > cap) {
    *error = file.filename().string() + ": " + std::to_string(size) + " bytes exceeds " +
             std::to_string(cap);
    return false;
  }
  return detail::read_whole_file(file, out, error);
}

}  // namespace

std::string Revocation::to_json() const {
  return json{{"format", kRevocationFormat},    {"component", component},
              {"version", version.to_string()}, {"reason", reason},
              {"created", format_utc(created)}, {"key_id", key_id}}
             .dump(2) +
         "\n";
}

Status Revocation::parse(std::string_view text, Revocation* out) {
  if (text.size() > kMaxRevocationBytes) {
    return Status(ErrorCode::bundle_invalid,
                  "revocation: larger than " + std::to_string(kMaxRevocationBytes) + " bytes");
  }
  const auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status(ErrorCode::bundle_invalid, "revocation: not a JSON object");
  }
  auto text_field = [&](const char* name, std::string* v) {
    const auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return false;
    *v = it->get<std::string>();
    return true;
  };
  std::string format, version, created;
  Revocation r;
  if (!text_field("format", &format) || format != kRevocationFormat) {
    return Status(ErrorCode::bundle_invalid,
                  std::string("revocation: format must be '") + kRevocationFormat + "'");
  }
  for (const auto& [name, value] : {std::pair<const char*, std::string*>{"component", &r.component},
                                    {"version", &version},
                                    {"reason", &r.reason},
                                    {"created", &created},
                                    {"key_id", &r.key_id}}) {
    if (!text_field(name, value)) {
      return Status(ErrorCode::bundle_invalid,
                    std::string("revocation: missing field '") + name + "'");
    }
  }
  std::string why;
  const auto v = Version::parse(version, &why);
  if (!v) return Status(ErrorCode::bundle_invalid, "revocation: version: " + why);
  r.version = *v;
  if (r.component.empty() || r.component.size() > 256) {
    return Status(ErrorCode::bundle_invalid, "revocation: component must be 1-256 characters");
  }
  if (!parse_utc(created, &r.created)) {
    return Status(ErrorCode::bundle_invalid,
                  "revocation: created '" + created + "' is not YYYY-MM-DDTHH:MM:SSZ");
  }
  *out = std::move(r);
  return Status();
}

Status sign_revocation(Revocation r, const SecretKey& key, std::string* text,
                       std::string* signature) {
  r.key_id = key.public_key().key_id();
  if (r.created == 0) r.created = std::time(nullptr);
  *text = r.to_json();
  *signature = sign_detached(key, *text);
  return Status();
}

Status write_revocation(const fs::path& dir, Revocation r, const SecretKey& key) {
  std::string text, sig, error;
  if (Status s = sign_revocation(std::move(r), key, &text, &sig); !s) return s;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status(ErrorCode::io_error, dir.string() + ": " + ec.message());
  if (!detail::write_file_atomically(dir / "revocation.json", text, &error, 0644) ||
      !detail::write_file_atomically(dir / "revocation.sig", sig + "\n", &error, 0644)) {
    return Status(ErrorCode::io_error, dir.string() + ": " + error);
  }
  return Status();
}

Status verify_revocation(const std::string& text, const std::string& signature,
                         const TrustedKeys& keys, Revocation* out) {
  // The key id is inside the text; nothing else in it is used until the
  // signature over its exact bytes checks out.
  Revocation r;
  if (Status s = Revocation::parse(text, &r); !s) return s;
  const std::string who = "revocation of " + r.component + " " + r.version.to_string();
  if (signature.empty()) {
    return Status(ErrorCode::bad_signature, who + ": unsigned");
  }
  const PublicKey* key = keys.find(r.key_id);
  if (key == nullptr) {
    return Status(ErrorCode::unknown_key,
                  who + ": signed with key " + r.key_id + ", which is not trusted here");
  }
  if (!verify_detached(*key, text, signature)) {
    return Status(ErrorCode::bad_signature,
                  who + ": bad signature over revocation.json (key " + r.key_id + ")");
  }
  *out = std::move(r);
  return Status();
}

bool is_revocation_folder(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "revocation.json", ec);
}

Status read_revocation(const fs::path& dir, const TrustedKeys& keys, Revocation* out) {
  std::string text, sig, error;
  if (!read_capped(dir / "revocation.json", kMaxRevocationBytes, &text, &error)) {
    return Status(ErrorCode::bundle_invalid, "revocation '" + dir.string() + "': " + error);
  }
  if (!read_capped(dir / "revocation.sig", 1024, &sig, &error)) {
    sig.clear();  // verify_revocation names it unsigned
  }
  while (!sig.empty() && (sig.back() == '\n' || sig.back() == '\r'))
    sig.pop_back();
  return verify_revocation(text, sig, keys, out);
}

RevocationList::RevocationList(fs::path state_dir)
    : file_(state_dir.empty() ? fs::path() : std::move(state_dir) / "revoked.json") {}

bool RevocationList::revoked(const std::string& component, const Version& version,
                             std::string* why) const {
  std::string text, error;
  if (file_.empty()) return false;
  if (!read_capped(file_, 1 << 20, &text, &error)) return false;
  const auto j = json::parse(text, nullptr, false);
  if (!j.is_array()) return false;
  for (const auto& e : j) {
    if (!e.is_object()) continue;
    if (e.value("component", std::string()) == component &&
        e.value("version", std::string()) == version.to_string()) {
      if (why != nullptr) *why = e.value("reason", std::string());
      return true;
    }
  }
  return false;
}

Status RevocationList::add(const Revocation& r) {
  if (file_.empty()) {
    return Status(ErrorCode::invalid_argument,
                  "revocation: this host has no state directory to keep it in");
  }
  if (revoked(r.component, r.version)) return Status();
  std::string text, error;
  json list = json::array();
  if (read_capped(file_, 1 << 20, &text, &error)) {
    list = json::parse(text, nullptr, false);
    if (!list.is_array()) list = json::array();
  }
  list.push_back({{"component", r.component},
                  {"version", r.version.to_string()},
                  {"reason", r.reason},
                  {"created", format_utc(r.created)},
                  {"key_id", r.key_id}});
  if (!detail::write_file_atomically(file_, list.dump(2) + "\n", &error)) {
    return Status(ErrorCode::io_error, "revocation list: " + error);
  }
  return Status();
}

Status apply_revocation(const fs::path& dir, const TrustedKeys& keys, const fs::path& state_dir,
                        const std::function<std::optional<Version>(const std::string&)>& serving,
                        const std::function<Status(const std::string&)>& roll_back,
                        spdlog::logger& log) {
  Revocation r;
  if (Status s = read_revocation(dir, keys, &r); !s) return s;
  if (Status s = RevocationList(state_dir).add(r); !s) return s;
  const std::string version = r.version.to_string();
  log.warn("[{} {}] revoked: {}", r.component, version, r.reason);
  const auto now = serving(r.component);
  if (now && *now == r.version) {
    if (Status s = roll_back(r.component); !s) {
      return Status(s.code(), "[" + r.component + " " + version +
                                  "] revoked, but the rollback failed: " + s.message());
    }
    log.warn("[{} {}] rolled back: the version is revoked", r.component, version);
  }
  return Status();
}

}  // namespace graft
