// Delta objects: a shared object rebuilt from the exact base object a host
// already holds, plus a small delta. The differ is libzstd (one frame that
// references the base as a raw-content prefix, with long-distance matching);
// bench/delta.cpp compares it with bsdiff and xdelta3, which Debian ships as
// commands only. docs/bundle-format.md describes the bundle fields.
//
// What a rebuild may cost is bounded before it starts: the output buffer is
// exactly the signed size, the frame must declare that size and a window no
// larger than base + output needs, and the delta file is read only up to its
// signed size.
#pragma once

#include <graft/artifact_store.hpp>
#include <graft/manifest.hpp>
#include <graft/status.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

// Exported for graftctl and graft's tests, not a public API.
#pragma GCC visibility push(default)

namespace graft::detail {

// The largest base + object a delta may span: zstd's window on 64-bit hosts
// (2^31 bytes) must cover both.
inline constexpr std::uint64_t kMaxDeltaSpan = std::uint64_t{1} << 31;

// A delta that rebuilds `target` from `base`: one zstd frame at level 19
// with long-distance matching, the base referenced as a prefix, the
// target's size in the frame header. invalid_argument when base + target
// exceed kMaxDeltaSpan; io_error when zstd fails.
Status make_delta(std::string_view base, std::string_view target, std::string* delta);

// Rebuilds the object into `out` (exactly `expected_size` bytes). Refused
// (bundle_invalid, with the cause) when the delta is not exactly one zstd
// frame, declares no content size or another one than `expected_size`, asks
// for a window beyond base + expected_size, or does not decode against this
// base to exactly `expected_size` bytes. Never writes past `expected_size`.
// With `sha256`, also the SHA-256 (hex) of the rebuilt bytes, hashed block
// by block (at most 128 KB) as each is decoded: for an object of 1 MiB or
// more on a second thread that trails the decoder, so that rebuild + verify
// costs about the slower of the two rather than their sum.
Status apply_delta(std::string_view base, std::string_view delta, std::uint64_t expected_size,
                   std::string* out, std::string* sha256 = nullptr);

// Reads a regular file (not following a symbolic link, not blocking on a
// FIFO) of at most `max_size` bytes into `out`. file_missing when absent,
// size_mismatch when larger than `max_size`, io_error otherwise.
Status read_bounded_file(const std::filesystem::path& file, std::uint64_t max_size,
                         std::string* out);

// The installer's step for a bundle that carries a delta instead of (or
// beside) its object: checks the delta file against its signed size and
// SHA-256, takes the base from `store` (base_missing when this host does
// not hold it), rebuilds, and checks the result's size and SHA-256 against
// the signed manifest before returning it. `who` prefixes every message.
Status rebuild_object(const ArtifactStore& store, const std::filesystem::path& bundle_dir,
                      const Manifest& manifest, const std::string& who, std::string* object);

}  // namespace graft::detail

#pragma GCC visibility pop
