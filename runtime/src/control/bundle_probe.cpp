#include "bundle_probe.hpp"

#include <graft/artifact_store.hpp>
#include <graft/revocation.hpp>

#include <nlohmann/json.hpp>

#include <fstream>

namespace graft::control {
namespace {

namespace fs = std::filesystem;

// The manifest's "size" and "sha256" of the shared object, wherever the
// manifest nests them.
void find_fields(const nlohmann::json& j, std::uint64_t* size, std::string* sha256) {
  if (!j.is_object()) return;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "size" && it->is_number_unsigned()) *size = it->get<std::uint64_t>();
    if (it.key() == "sha256" && it->is_string()) *sha256 = it->get<std::string>();
    if (it->is_object()) find_fields(*it, size, sha256);
  }
}

}  // namespace

BundleCompleteness probe_bundle(const fs::path& bundle) {
  std::error_code ec;
  // [fleet] A revocation is there in full with its signature beside it.
  if (is_revocation_folder(bundle)) {
    return fs::exists(bundle / "revocation.sig", ec) ? BundleCompleteness::complete
                                                     : BundleCompleteness::incomplete;
  }
  std::ifstream in(bundle / "manifest.json", std::ios::binary);
  if (!in) return BundleCompleteness::incomplete;
  // A manifest still being written does not parse yet.
  const auto manifest = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded() || !manifest.is_object()) return BundleCompleteness::incomplete;
  std::uint64_t size = 0;
  std::string sha256;
  find_fields(manifest, &size, &sha256);
  fs::path object;
  bool signature = false;
  for (const auto& e : fs::directory_iterator(bundle, ec)) {
    const auto ext = e.path().extension();
    if (ext == ".so") object = e.path();
    if (ext == ".sig" || e.path().filename().string().find("sig") != std::string::npos) {
      signature = true;
    }
  }
  if (object.empty() || !signature) return BundleCompleteness::incomplete;
  const std::uint64_t have = fs::file_size(object, ec);
  if (ec || have < size) return BundleCompleteness::incomplete;
  if (have > size || sha256.empty()) return BundleCompleteness::mismatched;
  return sha256_file(object) == sha256 ? BundleCompleteness::complete
                                       : BundleCompleteness::mismatched;
}

}  // namespace graft::control
