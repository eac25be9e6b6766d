#include "release_record.hpp"

#include <nlohmann/json.hpp>

namespace graft::fleet {

std::string ReleaseRecord::to_json() const {
  return nlohmann::json{
      {"format", kReleaseFormat}, {"manifest", manifest_text}, {"signature", signature}}
      .dump();
}

Status ReleaseRecord::parse(const std::string& text, ReleaseRecord* out) {
  if (text.size() > kMaxReleaseRecordBytes) {
    return Status(ErrorCode::bundle_invalid, "release record of " + std::to_string(text.size()) +
                                                 " bytes exceeds the limit of " +
                                                 std::to_string(kMaxReleaseRecordBytes));
  }
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status(ErrorCode::bundle_invalid, "release record is not a JSON object");
  }
  const auto field = [&](const char* name, std::string* value) {
    const auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return false;
    *value = it->get<std::string>();
    return true;
  };
  std::string format;
  if (!field("format", &format) || format != kReleaseFormat) {
    return Status(ErrorCode::bundle_invalid,
                  std::string("release record: format must be '") + kReleaseFormat + "'");
  }
  ReleaseRecord r;
  if (!field("manifest", &r.manifest_text)) {
    return Status(ErrorCode::bundle_invalid, "release record: missing field 'manifest'");
  }
  if (!field("signature", &r.signature)) {
    return Status(ErrorCode::bad_signature, "release record: unsigned (no field 'signature')");
  }
  *out = std::move(r);
  return Status();
}

Status verify_release(const ReleaseRecord& record, const TrustedKeys& keys, Manifest* manifest,
                      std::time_t now) {
  // The key id is inside the manifest, so it is read first; nothing it
  // says is used until the signature over its exact bytes checks out.
  Manifest m;
  if (Status s = Manifest::parse(record.manifest_text, &m); !s) {
    return Status(s.code(), "release record: " + s.message());
  }
  const std::string who = m.component + " " + m.version.to_string();
  const PublicKey* key = keys.find(m.key_id);
  if (key == nullptr) {
    return Status(ErrorCode::unknown_key, "release " + who + ": signed with key " + m.key_id +
                                              ", which this agent does not trust");
  }
  if (!verify_detached(*key, record.manifest_text, record.signature)) {
    return Status(ErrorCode::bad_signature,
                  "release " + who + ": bad signature over the manifest (key " + m.key_id + ")");
  }
  if (m.expires <= now) {
    return Status(ErrorCode::expired, "release " + who + ": expired at " + format_utc(m.expires));
  }
  *manifest = std::move(m);
  return Status();
}

}  // namespace graft::fleet
