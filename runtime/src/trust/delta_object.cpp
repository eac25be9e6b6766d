#include "trust/delta_object.hpp"

#include "file_io.hpp"
#include "sha256.hpp"

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader, the buffer-less decoder, raw DDicts
#include <zstd.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <thread>

namespace graft::detail {
namespace fs = std::filesystem;

namespace {

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
};
struct DDictFree {
  void operator()(ZSTD_DDict* d) const noexcept { ZSTD_freeDDict(d); }
};

// The smallest window log whose window covers `span` bytes: the base
// (referenced as a prefix) and the object being rebuilt must both fit.
int window_log_for(std::uint64_t span) {
  int log = ZSTD_WINDOWLOG_MIN;
  while (log < ZSTD_WINDOWLOG_MAX_64 && (std::uint64_t{1} << log) < span)
    ++log;
  return log;
}

Status invalid(const std::string& why) {
  return Status(ErrorCode::bundle_invalid, "delta: " + why);
}

// Hashes an output buffer on a second thread, trailing the decoder by at
// most a block: SHA-256 costs about as much per byte as zstd's decoding,
// so side by side a rebuild + verify costs about the slower of the two
// instead of their sum (bench_delta, "zstd + sha256"). Without a thread
// (small objects, or none could be started) the caller hashes inline.
class TrailingHasher {
 public:
  // Objects below this are hashed inline: a thread's start and wake-ups
  // cost more than the overlap saves.
  static constexpr std::size_t kMinSize = std::size_t{1} << 20;

  TrailingHasher(const char* data, std::size_t size) : data_(data), size_(size) {
    try {
      thread_ = std::thread([this] { run(); });
    } catch (...) {  // std::system_error: no thread now; hash inline instead
    }
  }
  TrailingHasher(const TrailingHasher&) = delete;
  TrailingHasher& operator=(const TrailingHasher&) = delete;
  ~TrailingHasher() { stop(); }

  bool running() const noexcept { return thread_.joinable(); }
  // The first `written` bytes are final. The release store pairs with the
  // acquire load in run(): the hasher reads only bytes written before it.
  void advance(std::size_t written) noexcept {
    produced_.store(written, std::memory_order_release);
    produced_.notify_one();
  }
  // After advance(size): the hash of the whole buffer ("" if it failed).
  std::string finish() {
    thread_.join();
    return hex_;
  }
  // Stops the hasher early (the rebuild failed) and waits for it.
  void stop() noexcept {
    if (!thread_.joinable()) return;
    advance(kAbandoned);
    thread_.join();
  }

 private:
  static constexpr std::size_t kAbandoned = std::numeric_limits<std::size_t>::max();

  void run() noexcept {
    try {
      Sha256 hash;
      std::size_t done = 0;
      while (done < size_) {
        const std::size_t ready = produced_.load(std::memory_order_acquire);
        if (ready == kAbandoned) return;
        if (ready == done) {
          produced_.wait(done, std::memory_order_acquire);
          continue;
        }
        hash.update(data_ + done, ready - done);
        done = ready;
      }
      hex_ = hash.hex();
    } catch (...) {  // a digest that failed: hex_ stays empty and never matches
    }
  }

  const char* const data_;
  const std::size_t size_;
  std::atomic<std::size_t> produced_{0};
  std::string hex_;
  std::thread thread_;
};

}  // namespace

Status make_delta(std::string_view base, std::string_view target, std::string* delta) {
  const std::uint64_t span = std::uint64_t{base.size()} + target.size();
  if (span > kMaxDeltaSpan) {
    return Status(ErrorCode::invalid_argument,
                  "delta: base and object together are " + std::to_string(span) +
                      " bytes; a delta spans at most " + std::to_string(kMaxDeltaSpan));
  }
  std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
  if (!cctx) return Status(ErrorCode::io_error, "delta: cannot create a zstd context");
  auto set = [&](ZSTD_cParameter p, int v) {
    return !ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), p, v));
  };
  // Level 19 with long-distance matching over a window spanning base and
  // object: bench/delta.cpp measured this against bsdiff and xdelta3.
  if (!set(ZSTD_c_compressionLevel, 19) || !set(ZSTD_c_enableLongDistanceMatching, 1) ||
      !set(ZSTD_c_windowLog, window_log_for(span)) || !set(ZSTD_c_contentSizeFlag, 1) ||
      !set(ZSTD_c_checksumFlag, 0)) {
    return Status(ErrorCode::io_error, "delta: zstd refused the delta settings");
  }
  if (ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cctx.get(), target.size())) ||
      ZSTD_isError(ZSTD_CCtx_refPrefix_advanced(cctx.get(), base.data(), base.size(),
                                                ZSTD_dct_rawContent))) {
    return Status(ErrorCode::io_error, "delta: zstd refused the base as a prefix");
  }
  std::string out(ZSTD_compressBound(target.size()), '\0');
  const std::size_t n =
      ZSTD_compress2(cctx.get(), out.data(), out.size(), target.data(), target.size());
  if (ZSTD_isError(n)) {
    return Status(ErrorCode::io_error, std::string("delta: zstd: ") + ZSTD_getErrorName(n));
  }
  out.resize(n);
  *delta = std::move(out);
  return Status();
}

Status apply_delta(std::string_view base, std::string_view delta, std::uint64_t expected_size,
                   std::string* out, std::string* sha256) {
  const std::uint64_t span = std::uint64_t{base.size()} + expected_size;
  if (span > kMaxDeltaSpan) {
    return invalid("base and object together are " + std::to_string(span) +
                   " bytes; a delta spans at most " + std::to_string(kMaxDeltaSpan));
  }
  // Exactly one frame, nothing after it: trailing frames would decode
  // without the base, and trailing bytes are not part of what was made.
  const std::size_t frame = ZSTD_findFrameCompressedSize(delta.data(), delta.size());
  if (ZSTD_isError(frame)) {
    return invalid(std::string("not a zstd frame (") + ZSTD_getErrorName(frame) + ")");
  }
  if (frame != delta.size()) {
    return invalid("holds " + std::to_string(delta.size() - frame) +
                   " bytes after its frame; a delta is exactly one frame");
  }
  ZSTD_frameHeader header{};
  if (ZSTD_getFrameHeader(&header, delta.data(), delta.size()) != 0 ||
      header.frameType != ZSTD_frame) {
    return invalid("its frame header cannot be read");
  }
  if (header.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN) {
    return invalid("its frame does not declare the size it rebuilds");
  }
  if (header.frameContentSize != expected_size) {
    return invalid("its frame rebuilds " + std::to_string(header.frameContentSize) +
                   " bytes, the signed manifest says " + std::to_string(expected_size));
  }
  const int max_log = window_log_for(span);
  if (header.windowSize > (std::uint64_t{1} << max_log)) {
    return invalid("its frame asks for a window of " + std::to_string(header.windowSize) +
                   " bytes, more than base and object need (" +
                   std::to_string(std::uint64_t{1} << max_log) + ")");
  }

  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  if (!dctx) return Status(ErrorCode::io_error, "delta: cannot create a zstd context");
  // zstd's buffer-less decoder, one block at a time, straight into the
  // output: no window buffer of its own (matches reach back into the base,
  // taken as raw content, and into what is already rebuilt), and each block
  // can be hashed while it is in cache. A match reaching before the base or
  // a block larger than what is left of the output fails inside zstd.
  // The base by reference (no copy) and as raw content, as make_delta
  // referenced it, whatever its first bytes look like.
  std::unique_ptr<ZSTD_DDict, DDictFree> ddict(ZSTD_createDDict_advanced(
      base.data(), base.size(), ZSTD_dlm_byRef, ZSTD_dct_rawContent, ZSTD_defaultCMem));
  if (!ddict || ZSTD_isError(ZSTD_decompressBegin_usingDDict(dctx.get(), ddict.get()))) {
    return Status(ErrorCode::io_error, "delta: zstd refused the base as a prefix");
  }
  // The output buffer is exactly the signed size: a frame that would write
  // more fails inside zstd (dstSize_tooSmall) instead of growing anything.
  std::string buf(static_cast<std::size_t>(expected_size), '\0');
  std::optional<TrailingHasher> trailing;
  if (sha256 != nullptr && buf.size() >= TrailingHasher::kMinSize) {
    trailing.emplace(buf.data(), buf.size());
    if (!trailing->running()) trailing.reset();
  }
  std::optional<Sha256> hash;
  if (sha256 != nullptr && !trailing) hash.emplace();
  std::size_t read = 0;
  std::size_t written = 0;
  for (std::size_t next = ZSTD_nextSrcSizeToDecompress(dctx.get()); next != 0;
       next = ZSTD_nextSrcSizeToDecompress(dctx.get())) {
    if (next > delta.size() - read) {
      return invalid("is truncated: its frame needs " + std::to_string(next) +
                     " more bytes at offset " + std::to_string(read) + ", the delta has " +
                     std::to_string(delta.size() - read));
    }
    const std::size_t n = ZSTD_decompressContinue(dctx.get(), buf.data() + written,
                                                  buf.size() - written, delta.data() + read, next);
    if (ZSTD_isError(n)) {
      return invalid(std::string("does not rebuild against this base: ") + ZSTD_getErrorName(n));
    }
    read += next;
    written += n;
    if (n == 0) continue;
    if (trailing) {
      trailing->advance(written);
    } else if (hash) {
      hash->update(buf.data() + written - n, n);
    }
  }
  if (written != expected_size) {
    return invalid("rebuilt " + std::to_string(written) + " bytes, the signed manifest says " +
                   std::to_string(expected_size));
  }
  if (trailing) {
    *sha256 = trailing->finish();
    if (sha256->empty())
      return Status(ErrorCode::io_error, "delta: SHA-256 of the rebuilt object failed");
  } else if (hash) {
    *sha256 = hash->hex();
  }
  *out = std::move(buf);
  return Status();
}

Status read_bounded_file(const fs::path& file, std::uint64_t max_size, std::string* out) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    return Status(err == ENOENT ? ErrorCode::file_missing : ErrorCode::io_error,
                  "'" + file.string() + "': " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status(ErrorCode::io_error, "'" + file.string() + "' is not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_size) {
    return Status(ErrorCode::size_mismatch,
                  "'" + file.string() + "' is " + std::to_string(st.st_size) +
                      " bytes, more than the " + std::to_string(max_size) + " expected");
  }
  // Read one byte beyond what fstat said: a file that grew since is caught.
  // The buffer follows the file, not the cap, so a large cap costs nothing.
  std::string data(static_cast<std::size_t>(st.st_size) + 1, '\0');
  std::size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = io().read(fd.get(), data.data() + got, data.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(ErrorCode::io_error,
                    "reading '" + file.string() + "': " + std::strerror(errno));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > static_cast<std::uint64_t>(st.st_size)) {
    return Status(ErrorCode::io_error, "'" + file.string() + "' grew while it was read");
  }
  data.resize(got);
  *out = std::move(data);
  return Status();
}

namespace {

Status rebuild_object_unguarded(const ArtifactStore& store, const fs::path& bundle_dir,
                                const Manifest& m, const std::string& who, std::string* object) {
  if (!m.delta) {
    return Status(ErrorCode::file_missing, who + ": shared object '" +
                                               (bundle_dir / m.file).string() +
                                               "' is missing and the bundle carries no delta");
  }
  const ManifestDelta& d = *m.delta;
  // The delta file: bounded by its signed size, then its signed SHA-256.
  std::string delta;
  if (Status s = read_bounded_file(bundle_dir / d.file, d.size, &delta); !s) {
    return Status(s.code(), who + ": delta " + s.message());
  }
  if (delta.size() != d.size) {
    return Status(ErrorCode::size_mismatch,
                  who + ": delta '" + d.file + "' is " + std::to_string(delta.size()) +
                      " bytes, the signed manifest says " + std::to_string(d.size));
  }
  if (const std::string hex = sha256_hex(delta.data(), delta.size()); hex != d.sha256) {
    return Status(ErrorCode::hash_mismatch, who + ": delta '" + d.file + "': SHA-256 " + hex +
                                                " differs from the signed manifest's " + d.sha256);
  }
  // The base: read once and hashed once, the bytes zstd uses. The store
  // names files by content; a base and object beyond what a delta may span
  // are refused by the read's cap, before the base is read.
  const std::uint64_t base_cap = m.size < kMaxDeltaSpan ? kMaxDeltaSpan - m.size : 0;
  std::string base;
  if (Status s = store.read(d.base_sha256, base_cap, &base); !s) {
    if (s.code() == ErrorCode::file_missing) {
      return Status(ErrorCode::base_missing, who + ": this host does not hold base sha256 " +
                                                 d.base_sha256 + "; send the full bundle");
    }
    if (s.code() == ErrorCode::size_mismatch) {
      return Status(ErrorCode::bundle_invalid, who + ": base and object together exceed the " +
                                                   std::to_string(kMaxDeltaSpan) +
                                                   " bytes a delta may span; send the full bundle");
    }
    return Status(s.code(), who + ": base sha256 " + d.base_sha256 + ": " + s.message() +
                                "; send the full bundle");
  }
  std::string rebuilt;
  std::string hex;
  if (Status s = apply_delta(base, delta, m.size, &rebuilt, &hex); !s) {
    return Status(s.code(), who + ": " + s.message());
  }
  // Nothing reads the rebuilt bytes before they match what was signed.
  if (hex != m.sha256) {
    return Status(ErrorCode::hash_mismatch, who + ": the object rebuilt from delta '" + d.file +
                                                "' has SHA-256 " + hex +
                                                ", the signed manifest says " + m.sha256);
  }
  *object = std::move(rebuilt);
  return Status();
}

}  // namespace

Status rebuild_object(const ArtifactStore& store, const fs::path& bundle_dir, const Manifest& m,
                      const std::string& who, std::string* object) {
  // Buffers are sized by signed sizes (at most kMaxDeltaSpan in all): a
  // host short of memory refuses the bundle instead of failing the install
  // with an exception.
  try {
    return rebuild_object_unguarded(store, bundle_dir, m, who, object);
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::io_error, who + ": not enough memory to rebuild " +
                                           std::to_string(m.size) + " bytes from the delta");
  }
}

}  // namespace graft::detail
