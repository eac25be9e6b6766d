#include "bundle_manifest.hpp"

#include "manifest_claims.hpp"
#include "printable.hpp"
#include "untrusted_file.hpp"

#include <graft/manifest.hpp>

namespace graftctl {

std::optional<std::string> bundle_component(const std::filesystem::path& bundle, std::string* why) {
  // Unsigned bytes the operator pointed at: read through the bounded reader
  // (a FIFO or a 100 MB file is refused at once) and only the claims parsed.
  graft::detail::UntrustedFile file =
      graft::detail::UntrustedFile::open(bundle / "manifest.json", graft::kManifestMaxBytes);
  std::string text;
  if (!file.read_all(&text)) {
    *why = "cannot read the manifest: " + file.error();
    return std::nullopt;
  }
  const graft::detail::ManifestClaims claims = graft::detail::read_manifest_claims(text);
  if (!claims.parsed || claims.component.empty()) {
    *why = graft::printable((bundle / "manifest.json").string()) + " names no component" +
           (claims.parsed ? std::string() : " (" + claims.error + ")");
    return std::nullopt;
  }
  return claims.component;
}

}  // namespace graftctl
