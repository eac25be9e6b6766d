// The inbox probe reads manifests nobody has signed yet: whatever the bytes
// (deep nesting, huge numbers, duplicate keys, cut-short JSON), it returns a
// verdict without crashing, recursing or reading without bound. Each input is
// written as manifest.json into a bundle folder beside a small shared object
// and a signature file, and probed; the bounded claims reader is run on it
// directly too.
#include "control/bundle_probe.hpp"
#include "manifest_claims.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace {

namespace fs = std::filesystem;

const fs::path& bundle_dir() {
  static const fs::path dir = [] {
    const fs::path d =
        fs::temp_directory_path() / ("graft-fuzz-probe-" + std::to_string(::getpid()));
    fs::create_directories(d);
    std::ofstream(d / "component.so", std::ios::binary) << "not really an object";
    std::ofstream(d / "manifest.sig") << std::string(128, '0') << "\n";
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const graft::detail::ManifestClaims claims = graft::detail::read_manifest_claims(text);
  if (!claims.parsed && claims.error.empty()) std::abort();
  if (claims.component.size() > 256 || claims.version.size() > 256) std::abort();
  {
    std::ofstream out(bundle_dir() / "manifest.json", std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  const auto verdict = graft::control::probe_bundle(bundle_dir());
  if (verdict != graft::control::BundleCompleteness::incomplete &&
      verdict != graft::control::BundleCompleteness::complete &&
      verdict != graft::control::BundleCompleteness::mismatched) {
    std::abort();
  }
  return 0;
}
