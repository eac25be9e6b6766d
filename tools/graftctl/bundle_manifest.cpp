#include "bundle_manifest.hpp"

#include <nlohmann/json.hpp>

#include <fstream>

namespace graftctl {

std::optional<std::string> bundle_component(const std::filesystem::path& bundle, std::string* why) {
  const auto file = bundle / "manifest.json";
  std::ifstream in(file);
  if (!in) {
    *why = "cannot read " + file.string();
    return std::nullopt;
  }
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  auto it = j.is_object() ? j.find("component") : j.end();
  if (j.is_discarded() || !j.is_object() || it == j.end() || !it->is_string()) {
    *why = file.string() + " names no component";
    return std::nullopt;
  }
  return it->get<std::string>();
}

}  // namespace graftctl
