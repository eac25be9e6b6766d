#include <graft/artifact_store.hpp>

#include "file_io.hpp"
#include "owned_folder.hpp"
#include "printable.hpp"
#include "sha256.hpp"
#include "store_hold.hpp"
#include "untrusted_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace graft {
namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

// Moves a written temporary file into place as <hex>.so (keeping an intact
// copy already there) and verifies the stored copy.
Status commit_incoming(const fs::path& dir, int fd, const std::string& tmpl,
                       detail::TempFileGuard& tmp_guard, const std::string& hex, std::uint64_t size,
                       const fs::path& file, Artifact* out, bool sync_folder) {
  const fs::path final_path = dir / (hex + ".so");

  std::uint64_t existing_size = 0;
  if (fs::exists(final_path) && sha256_file(final_path, &existing_size) == hex &&
      existing_size == size) {
    // Same content already stored (and intact, just hashed): keep that
    // copy, it may be mapped; the new temporary copy is dropped unsynced (by
    // tmp_guard). It was fsynced before it got its name; the folder is
    // synced again below, in case the rename that named it was not yet.
    if (sync_folder && !detail::fsync_dir(dir)) {
      return Status(ErrorCode::io_error,
                    "fsync of store '" + dir.string() + "': " + errno_text(errno));
    }
    out->path = final_path;
    out->sha256 = hex;
    out->size = size;
    out->source = file;
    out->written = false;
    return Status();
  } else {
    if (detail::io().fsync(fd) != 0) {
      return Status(ErrorCode::io_error,
                    "fsync in store '" + dir.string() + "': " + errno_text(errno));
    }
    if (detail::io().rename(tmpl.c_str(), final_path.c_str()) != 0) {
      return Status(ErrorCode::io_error,
                    "rename into store '" + final_path.string() + "': " + errno_text(errno));
    }
    tmp_guard.release();
    if (sync_folder && !detail::fsync_dir(dir)) {
      return Status(ErrorCode::io_error,
                    "fsync of store '" + dir.string() + "': " + errno_text(errno));
    }
  }

  // Verify the copy that will be loaded, not the bytes we think we wrote.
  std::uint64_t copy_size = 0;
  const std::string copy_hex = sha256_file(final_path, &copy_size);
  if (copy_hex != hex || copy_size != size) {
    return Status(ErrorCode::hash_mismatch, "store copy '" + final_path.string() + "' of '" +
                                                printable(file.string()) +
                                                "' does not match what was read");
  }
  out->path = final_path;
  out->sha256 = hex;
  out->size = size;
  out->source = file;
  out->written = true;
  return Status();
}

}  // namespace

ArtifactStore::ArtifactStore(fs::path dir) : dir_(std::move(dir)) {
  if (Status s = detail::ensure_owned_folder(dir_, "store directory"); !s) throw Error(s);
  std::error_code ec;
  // Copies cut short by a crash.
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.path().filename().string().rfind(".incoming.", 0) == 0) fs::remove(e.path(), ec);
  }
}

Status ArtifactStore::put(const fs::path& file, Artifact* out) const {
  detail::UntrustedFile src = detail::UntrustedFile::open(file, kMaxObjectSize);
  if (!src.ok()) {
    return Status(src.refusal() == detail::FileRefusal::missing ? ErrorCode::file_missing
                                                                : ErrorCode::io_error,
                  "file " + src.error());
  }
  return put(src.fd(), file, kMaxObjectSize, out);
}

Status ArtifactStore::put(int src_fd, const fs::path& file, std::uint64_t max_size, Artifact* out,
                          bool sync_folder) const {
  if (::lseek(src_fd, 0, SEEK_SET) != 0) {
    return Status(ErrorCode::io_error,
                  "reading '" + printable(file.string()) + "': " + errno_text(errno));
  }
  std::string tmpl = (dir_ / ".incoming.XXXXXX").string();
  detail::UniqueFd dst(::mkstemp(tmpl.data()));
  if (!dst) {
    return Status(ErrorCode::io_error,
                  "cannot create a file in store '" + dir_.string() + "': " + errno_text(errno));
  }
  detail::TempFileGuard tmp_guard(tmpl);

  detail::Sha256 hash;
  std::uint64_t size = 0;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = detail::io().read(src_fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(ErrorCode::io_error,
                    "reading '" + printable(file.string()) + "': " + errno_text(errno));
    }
    if (n == 0) break;
    hash.update(buf, static_cast<std::size_t>(n));
    size += static_cast<std::uint64_t>(n);
    if (size > max_size) {
      return Status(ErrorCode::size_mismatch, "'" + printable(file.string()) + "' grew past " +
                                                  std::to_string(max_size) +
                                                  " bytes while copied into the store");
    }
    if (!detail::write_all(dst.get(), buf, static_cast<std::size_t>(n))) {
      return Status(ErrorCode::io_error,
                    "writing into store '" + dir_.string() + "': " + errno_text(errno));
    }
  }
  return commit_incoming(dir_, dst.get(), tmpl, tmp_guard, hash.hex(), size, file, out,
                         sync_folder);
}

Status ArtifactStore::put_bytes(std::string_view data, const fs::path& source, Artifact* out,
                                bool sync_folder) const {
  std::string tmpl = (dir_ / ".incoming.XXXXXX").string();
  detail::UniqueFd dst(::mkstemp(tmpl.data()));
  if (!dst) {
    return Status(ErrorCode::io_error,
                  "cannot create a file in store '" + dir_.string() + "': " + errno_text(errno));
  }
  detail::TempFileGuard tmp_guard(tmpl);
  if (!detail::write_all(dst.get(), data.data(), data.size())) {
    return Status(ErrorCode::io_error,
                  "writing into store '" + dir_.string() + "': " + errno_text(errno));
  }
  const std::string hex = sha256_hex(data.data(), data.size());
  return commit_incoming(dir_, dst.get(), tmpl, tmp_guard, hex, data.size(), source, out,
                         sync_folder);
}

Status ArtifactStore::sync_folder() const {
  if (!detail::fsync_dir(dir_)) {
    return Status(ErrorCode::io_error,
                  "fsync of store '" + dir_.string() + "': " + errno_text(errno));
  }
  return Status();
}

namespace {

// The stored copy named by `sha256`. The name is a hash in hex: nothing
// else may reach a path.
Status stored_path(const fs::path& dir, const std::string& sha256, fs::path* path) {
  if (sha256.size() != 64 || sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Status(ErrorCode::invalid_argument, "'" + sha256 + "' is not a sha256 in hex");
  }
  *path = dir / (sha256 + ".so");
  return Status();
}

Status no_artifact(const fs::path& path) {
  return Status(ErrorCode::file_missing, "store has no artifact '" + path.string() + "'");
}

Status corrupt_artifact(const fs::path& path, const std::string& hex) {
  return Status(ErrorCode::hash_mismatch,
                "store artifact '" + path.string() + "' is corrupt (content hash " + hex + ")");
}

}  // namespace

Status ArtifactStore::get(const std::string& sha256, Artifact* out) const {
  fs::path p;
  if (Status s = stored_path(dir_, sha256, &p); !s) return s;
  std::uint64_t size = 0;
  std::string hex;
  detail::UntrustedFile f = detail::UntrustedFile::open(p, kMaxObjectSize);
  if (f.refusal() == detail::FileRefusal::missing) return no_artifact(p);
  if (!f.sha256(&hex, &size)) {
    return Status(ErrorCode::hash_mismatch, "store artifact " + f.error());
  }
  if (hex != sha256) return corrupt_artifact(p, hex);
  out->path = p;
  out->sha256 = sha256;
  out->size = size;
  out->source = p;
  return Status();
}

Status ArtifactStore::read(const std::string& sha256, std::uint64_t max_size,
                           std::string* content) const {
  fs::path p;
  if (Status s = stored_path(dir_, sha256, &p); !s) return s;
  detail::UntrustedFile f = detail::UntrustedFile::open(p, max_size);
  std::string data;
  if (!f.read_all(&data)) {
    switch (f.refusal()) {
      case detail::FileRefusal::missing:
        return no_artifact(p);
      case detail::FileRefusal::too_large:
        return Status(ErrorCode::size_mismatch, "store artifact " + f.error());
      default:
        return Status(ErrorCode::io_error, "store artifact " + f.error());
    }
  }
  if (const std::string hex = sha256_hex(data.data(), data.size()); hex != sha256) {
    return corrupt_artifact(p, hex);
  }
  *content = std::move(data);
  return Status();
}

bool ArtifactStore::remove(const std::string& sha256) const {
  return detail::unless_held(dir_, sha256, [&] {
    std::error_code ec;
    fs::remove(dir_ / (sha256 + ".so"), ec);
    for (const char* suffix : {kManifestSuffix, kSignatureSuffix, kOwnSuffix})
      fs::remove(dir_ / (sha256 + suffix), ec);
  });
}

Status ArtifactStore::put_beside(const std::string& sha256, const char* suffix,
                                 std::string_view content, bool sync_folder, bool* written) const {
  const fs::path file = dir_ / (sha256 + suffix);
  if (written != nullptr) *written = false;
  std::string existing;
  detail::UntrustedFile f = detail::UntrustedFile::open(file, content.size());
  if (f.read_all(&existing) && existing == content) {
    if (sync_folder) return this->sync_folder();
    return Status();
  }
  if (written != nullptr) *written = true;
  std::string error;
  if (!detail::write_file_atomically(file, std::string(content), &error, 0600, sync_folder)) {
    return Status(ErrorCode::io_error, "store: " + error);
  }
  return Status();
}

Status ArtifactStore::get_beside(const std::string& sha256, const char* suffix,
                                 std::uint64_t max_size, std::string* content) const {
  detail::UntrustedFile f = detail::UntrustedFile::open(dir_ / (sha256 + suffix), max_size);
  if (!f.read_all(content)) {
    return Status(
        f.refusal() == detail::FileRefusal::missing ? ErrorCode::file_missing : ErrorCode::io_error,
        "store: " + f.error());
  }
  return Status();
}

std::string sha256_file(const fs::path& file, std::uint64_t* size) {
  detail::UntrustedFile f = detail::UntrustedFile::open(file, ArtifactStore::kMaxObjectSize);
  std::string hex;
  std::uint64_t total = 0;
  if (!f.sha256(&hex, &total)) return {};
  if (size != nullptr) *size = total;
  return hex;
}

std::string sha256_hex(const void* data, std::size_t size) {
  detail::Sha256 hash;
  hash.update(data, size);
  return hash.hex();
}

}  // namespace graft
