#include <graft/installed_state.hpp>

#include "file_io.hpp"
#include "untrusted_file.hpp"

#include <nlohmann/json.hpp>

namespace graft {
namespace {

using nlohmann::json;

json version_json(const std::optional<Version>& v) {
  return v ? json(v->to_string()) : json(nullptr);
}

bool read_version(const json& j, const char* key, std::optional<Version>* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    out->reset();
    return true;
  }
  if (!it->is_string()) return false;
  auto v = Version::parse(it->get<std::string>());
  if (!v) return false;
  *out = *v;
  return true;
}

}  // namespace

std::string InstalledState::to_json() const {
  json comps = json::object();
  for (const auto& [name, r] : components) {
    comps[name] = {{"serving", version_json(r.serving)},
                   {"previous", version_json(r.previous)},
                   {"highest", version_json(r.highest)},
                   {"hashes", r.hashes}};
  }
  return json{{"format", "graft-installed/1"}, {"components", comps}}.dump(2) + "\n";
}

Status InstalledState::from_json(std::string_view text, InstalledState* out) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  auto corrupt = [](const std::string& why) {
    return Status(ErrorCode::state_corrupt, "installed state: " + why);
  };
  if (j.is_discarded() || !j.is_object()) return corrupt("not a JSON object");
  if (j.value("format", "") != "graft-installed/1") return corrupt("unknown format");
  auto comps = j.find("components");
  if (comps == j.end() || !comps->is_object()) return corrupt("no components object");
  InstalledState st;
  for (const auto& [name, c] : comps->items()) {
    if (!c.is_object()) return corrupt("component '" + name + "' is not an object");
    ComponentRecord r;
    if (!read_version(c, "serving", &r.serving) || !read_version(c, "previous", &r.previous) ||
        !read_version(c, "highest", &r.highest)) {
      return corrupt("component '" + name + "' has an invalid version");
    }
    auto h = c.find("hashes");
    if (h != c.end()) {
      if (!h->is_object()) return corrupt("component '" + name + "' hashes is not an object");
      for (const auto& [v, sha] : h->items()) {
        if (!sha.is_string()) return corrupt("component '" + name + "' hash is not a string");
        r.hashes[v] = sha.get<std::string>();
      }
    }
    st.components[name] = std::move(r);
  }
  *out = std::move(st);
  return Status();
}

namespace {
// Far more than any host's state (a few hundred bytes per kept version).
constexpr std::uint64_t kMaxStateBytes = 16 * 1024 * 1024;
}  // namespace

Status InstalledState::load(const std::filesystem::path& file, InstalledState* out) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    *out = InstalledState();
    return Status();
  }
  // Regular file only, bounded: a FIFO or symlink in its place is refused,
  // never waited on.
  std::string text;
  detail::UntrustedFile f = detail::UntrustedFile::open(file, kMaxStateBytes);
  if (!f.read_all(&text)) {
    return Status(ErrorCode::state_corrupt, "installed state " + f.error());
  }
  Status s = from_json(text, out);
  if (!s) return Status(s.code(), "'" + file.string() + "': " + s.message());
  return s;
}

Status InstalledState::save(const std::filesystem::path& file) const {
  std::string error;
  if (!detail::write_file_atomically(file, to_json(), &error, 0600)) {
    return Status(ErrorCode::io_error, "saving installed state: " + error);
  }
  return Status();
}

}  // namespace graft
