#include <graft/manifest.hpp>

#include "flat_json.hpp"
#include "printable.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace graft {
namespace {

using nlohmann::json;

Status bad(const std::string& why) {
  return Status(ErrorCode::bundle_invalid, "manifest: " + why);
}

bool is_hex(const std::string& s, std::size_t n) {
  return s.size() == n && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool plain_file_name(const std::string& name) {
  return name.find('/') == std::string::npos && name != "." && name != "..";
}

// The optional "delta" object: exactly its four fields, nothing else.
Status parse_delta(const json& j, const std::string& object_file,
                   std::optional<ManifestDelta>* out) {
  if (!j.is_object()) return bad("field 'delta' must be an object");
  for (const auto& [key, value] : j.items()) {
    if (key != "base_sha256" && key != "file" && key != "sha256" && key != "size")
      return bad("delta: unknown field '" + key + "'");
  }
  ManifestDelta d;
  for (const char* key : {"base_sha256", "file", "sha256"}) {
    auto it = j.find(key);
    if (it == j.end()) return bad("delta: missing field '" + std::string(key) + "'");
    if (!it->is_string()) return bad("delta: field '" + std::string(key) + "' must be a string");
  }
  auto size = j.find("size");
  if (size == j.end()) return bad("delta: missing field 'size'");
  if (!size->is_number_unsigned()) return bad("delta: field 'size' must be a whole number");
  d.base_sha256 = j["base_sha256"].get<std::string>();
  d.file = j["file"].get<std::string>();
  d.sha256 = j["sha256"].get<std::string>();
  d.size = size->get<std::uint64_t>();
  if (!is_hex(d.base_sha256, 64)) return bad("delta: base_sha256 must be 64 lower-case hex digits");
  if (!is_hex(d.sha256, 64)) return bad("delta: sha256 must be 64 lower-case hex digits");
  if (d.size == 0 || d.size > (std::uint64_t{1} << 40))
    return bad("delta: field 'size' is out of range");
  if (d.file.empty() || d.file.size() > 256 || !plain_file_name(d.file) || d.file == object_file)
    return bad("delta: file '" + d.file +
               "' must be a plain file name inside the bundle, other than the object's");
  *out = std::move(d);
  return Status();
}

}  // namespace

std::string format_utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool parse_utc(std::string_view text, std::time_t* out) {
  if (text.size() != 20) return false;
  std::tm tm{};
  const std::string s(text);
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return false;
  *out = timegm(&tm);
  return format_utc(*out) == s;  // refuses 2026-02-31 and friends
}

const std::vector<std::string_view>& manifest_fields() {
  // Every field a manifest may hold; any other is refused. A new field is
  // one line here plus its reading below.
  static const std::vector<std::string_view> fields = {
      "format",       "component",       "version", "applies_to", "abi_version",
      "interface_id", "interface_major", "file",    "sha256",     "size",
      "created",      "expires",         "key_id",  "delta",
  };
  return fields;
}

Status Manifest::parse(std::string_view text, Manifest* out) {
  if (text.size() > kManifestMaxBytes) {
    return bad("larger than " + std::to_string(kManifestMaxBytes) + " bytes");
  }
  detail::FlatJson j;
  if (!detail::read_flat_json(text, 2, &j)) return bad(j.error);
  for (const auto& [key, value] : j.fields) {
    const auto& known = manifest_fields();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return bad("unknown field '" + printable(key) + "'");
    }
  }
  Manifest m;
  auto str = [&](const char* key, std::string* dst) -> Status {
    const json* v = j.find(key);
    if (v == nullptr) return bad("missing field '" + std::string(key) + "'");
    if (!v->is_string()) return bad("field '" + std::string(key) + "' must be a string");
    *dst = v->get<std::string>();
    if (dst->empty() || dst->size() > 256)
      return bad("field '" + std::string(key) + "' is empty or too long");
    if (std::any_of(dst->begin(), dst->end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      return bad("field '" + std::string(key) + "' holds control characters");
    }
    return Status();
  };
  auto num = [&](const char* key, std::uint64_t max, std::uint64_t* dst) -> Status {
    const json* v = j.find(key);
    if (v == nullptr) return bad("missing field '" + std::string(key) + "'");
    if (!v->is_number_unsigned())
      return bad("field '" + std::string(key) + "' must be a whole number");
    *dst = v->get<std::uint64_t>();
    if (*dst > max) return bad("field '" + std::string(key) + "' is out of range");
    return Status();
  };
  std::string format, version, applies_to, created, expires;
  std::uint64_t abi = 0, major = 0;
  for (Status s : {str("format", &format), str("component", &m.component), str("version", &version),
                   str("applies_to", &applies_to), num("abi_version", 0xffffffffu, &abi),
                   str("interface_id", &m.interface_id),
                   num("interface_major", 0xffffffffu, &major), str("file", &m.file),
                   str("sha256", &m.sha256), num("size", std::uint64_t{1} << 40, &m.size),
                   str("created", &created), str("expires", &expires), str("key_id", &m.key_id)}) {
    if (!s) return s;
  }
  if (format != kManifestFormat)
    return bad("format '" + printable(format) + "' is not " + kManifestFormat);
  std::string why;
  auto v = Version::parse(version, &why);
  if (!v) return bad("version: " + why);
  auto base = Version::parse(applies_to, &why);
  if (!base) return bad("applies_to: " + why);
  if (base->is_response())
    return bad("applies_to must be a base release, not '" + printable(applies_to) + "'");
  m.version = *v;
  m.applies_to = *base;
  m.abi_version = static_cast<std::uint32_t>(abi);
  m.interface_major = static_cast<std::uint32_t>(major);
  if (m.file.find('/') != std::string::npos || m.file == "." || m.file == "..") {
    return bad("file '" + printable(m.file) + "' must be a plain file name inside the bundle");
  }
  if (!is_hex(m.sha256, 64)) return bad("sha256 must be 64 lower-case hex digits");
  if (!is_hex(m.key_id, 16)) return bad("key_id must be 16 lower-case hex digits");
  if (!parse_utc(created, &m.created))
    return bad("created '" + printable(created) + "' is not YYYY-MM-DDTHH:MM:SSZ");
  if (!parse_utc(expires, &m.expires))
    return bad("expires '" + printable(expires) + "' is not YYYY-MM-DDTHH:MM:SSZ");
  if (m.created >= m.expires) {
    return bad("created " + created + " is not before expires " + expires);
  }
  if (j.find("delta") != nullptr) {
    // The flat reader keeps nested objects empty; read_flat_json already
    // bounded the depth to 2, so a full parse of these bytes cannot recurse.
    const json full = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (full.is_discarded() || !full.contains("delta")) return bad("field 'delta' is unreadable");
    if (Status s = parse_delta(full["delta"], m.file, &m.delta); !s) return s;
  }
  *out = std::move(m);
  return Status();
}

std::string Manifest::to_json() const {
  json j = {{"format", kManifestFormat},
            {"component", component},
            {"version", version.to_string()},
            {"applies_to", applies_to.to_string()},
            {"abi_version", abi_version},
            {"interface_id", interface_id},
            {"interface_major", interface_major},
            {"file", file},
            {"sha256", sha256},
            {"size", size},
            {"created", format_utc(created)},
            {"expires", format_utc(expires)},
            {"key_id", key_id}};
  if (delta) {
    j["delta"] = {{"base_sha256", delta->base_sha256},
                  {"file", delta->file},
                  {"sha256", delta->sha256},
                  {"size", delta->size}};
  }
  return j.dump(2) + "\n";
}

}  // namespace graft
