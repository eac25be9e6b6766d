#include "manifest_claims.hpp"

#include "flat_json.hpp"

#include <graft/manifest.hpp>

namespace graft::detail {

ManifestClaims read_manifest_claims(std::string_view text) {
  ManifestClaims c;
  if (text.size() > kManifestMaxBytes) {
    c.error = "larger than " + std::to_string(kManifestMaxBytes) + " bytes";
    c.beyond_limits = true;
    return c;
  }
  FlatJson j;
  if (!read_flat_json(text, kClaimsMaxDepth, &j)) {
    c.error = j.error;
    c.beyond_limits = j.error != "not valid JSON" && j.error != "not a JSON object";
    return c;
  }
  c.parsed = true;
  auto text_of = [&](const char* key) {
    const nlohmann::json* v = j.find(key);
    return v != nullptr && v->is_string() ? v->get<std::string>().substr(0, 256) : std::string();
  };
  c.component = text_of("component");
  c.version = text_of("version");
  c.key_id = text_of("key_id");
  c.sha256 = text_of("sha256");
  if (const nlohmann::json* v = j.find("size"); v != nullptr && v->is_number_unsigned()) {
    c.size = v->get<std::uint64_t>();
  }
  return c;
}

}  // namespace graft::detail
