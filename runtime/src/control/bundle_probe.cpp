#include "bundle_probe.hpp"

#include "manifest_claims.hpp"
#include "untrusted_file.hpp"

#include <graft/manifest.hpp>
#include <graft/revocation.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace graft::control {
namespace {

namespace fs = std::filesystem;

// One look at the folder's entries (not following symlinks): the shared
// object's name, and whether a signature file is there.
struct FolderParts {
  std::string object;
  bool signature = false;
};

FolderParts list_parts(int dir_fd) {
  FolderParts parts;
  const int fd = ::dup(dir_fd);
  if (fd < 0) return parts;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return parts;
  }
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (fs::path(name).extension() == ".so") parts.object = name;
    if (name.find("sig") != std::string::npos) parts.signature = true;
  }
  ::closedir(d);
  return parts;
}

}  // namespace

// Reads nothing without a limit and never blocks: the manifest through the
// bounded claims reader (its signature is checked later, by the verifier),
// each part through UntrustedFile. A part that is a FIFO, a device, a
// symlink or too large is "mismatched": waiting will not fix it, so the
// bundle is reported soon and refused with the reason.
BundleCompleteness probe_bundle(const fs::path& bundle) {
  detail::UniqueFd dir_fd;
  std::string error;
  if (!detail::open_folder(bundle, /*no_follow=*/true, &dir_fd, &error)) {
    return BundleCompleteness::incomplete;
  }
  // [fleet] A revocation is there in full with its signature beside it.
  if (is_revocation_folder(bundle)) {
    struct stat st {};
    return ::fstatat(dir_fd.get(), "revocation.sig", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                   S_ISREG(st.st_mode)
               ? BundleCompleteness::complete
               : BundleCompleteness::incomplete;
  }
  const std::string shown = bundle.string() + "/";
  detail::UntrustedFile manifest_file =
      detail::UntrustedFile::open_at(dir_fd.get(), "manifest.json", kManifestMaxBytes, shown);
  std::string text;
  if (!manifest_file.read_all(&text)) {
    return manifest_file.refusal() == detail::FileRefusal::missing ? BundleCompleteness::incomplete
                                                                   : BundleCompleteness::mismatched;
  }
  // A manifest still being written does not parse yet.
  const detail::ManifestClaims claims = detail::read_manifest_claims(text);
  if (!claims.parsed) {
    return claims.beyond_limits ? BundleCompleteness::mismatched : BundleCompleteness::incomplete;
  }
  const FolderParts parts = list_parts(dir_fd.get());
  if (parts.object.empty() || !parts.signature) return BundleCompleteness::incomplete;
  const std::uint64_t size = claims.size.value_or(0);
  detail::UntrustedFile object =
      detail::UntrustedFile::open_at(dir_fd.get(), parts.object, size, shown);
  if (object.refusal() == detail::FileRefusal::too_large) return BundleCompleteness::mismatched;
  if (!object.ok()) {
    return object.refusal() == detail::FileRefusal::not_regular ? BundleCompleteness::mismatched
                                                                : BundleCompleteness::incomplete;
  }
  if (object.size() < size) return BundleCompleteness::incomplete;
  if (claims.sha256.empty()) return BundleCompleteness::mismatched;
  std::string hex;
  std::uint64_t total = 0;
  if (!object.sha256(&hex, &total)) return BundleCompleteness::mismatched;
  return hex == claims.sha256 ? BundleCompleteness::complete : BundleCompleteness::mismatched;
}

}  // namespace graft::control
