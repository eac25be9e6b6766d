// The status board's shared-memory layout, shared by its writer (the host)
// and its readers. Fixed size; only ever extended by a new layout version.
//
// Each record is a seqlock: the writer makes `seq` odd, writes the payload,
// and makes it even again; a reader copies the payload between two reads
// of `seq` and retries unless both were the same even number. Payloads are
// copied as 8-byte words through relaxed atomics, so a torn copy is
// detected, never undefined behaviour.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace graft::control::board {

inline constexpr std::uint32_t kMagic = 0x74667267;  // "grft"
inline constexpr std::uint32_t kLayoutVersion = 1;
inline constexpr std::size_t kMaxComponents = 64;
inline constexpr std::size_t kMaxPending = 16;

struct HostPayload {
  std::uint64_t pid;
  std::uint64_t process_start_ticks;
  std::int64_t started_unix_ms;
  std::int64_t refreshed_unix_ms;
  std::uint64_t refreshes;
  std::uint64_t flags;  // kFlagAutoInstall | kFlagInbox
  std::uint64_t component_count;
  std::uint64_t pending_count;
  char name[64];
};
inline constexpr std::uint64_t kFlagAutoInstall = 1;
inline constexpr std::uint64_t kFlagInbox = 2;

struct ComponentPayload {
  std::uint64_t calls;
  std::uint64_t errors;
  std::uint64_t in_flight;
  std::uint64_t probation_left_ms;
  char name[64];
  char interface_id[64];
  char version[32];
  char previous_version[32];
  char state[16];
  char last_event[160];
};

struct PendingPayload {
  char bundle[96];
  char component[64];
  char version[32];
  char path[256];
};

template <class Payload>
struct alignas(64) Record {
  static_assert(std::is_trivially_copyable_v<Payload> && sizeof(Payload) % 8 == 0);
  std::uint64_t seq;
  std::uint64_t words[sizeof(Payload) / 8];
};

struct Layout {
  std::uint32_t magic;  // written last, with release: the board is ready
  std::uint32_t layout_version;
  std::uint64_t size;
  Record<HostPayload> host;
  Record<ComponentPayload> components[kMaxComponents];
  Record<PendingPayload> pending[kMaxPending];
};

template <class Payload>
void write_record(Record<Payload>& r, const Payload& value) noexcept {
  std::uint64_t words[sizeof(Payload) / 8];
  std::memcpy(words, &value, sizeof words);
  std::atomic_ref<std::uint64_t> seq(r.seq);
  const std::uint64_t s = seq.load(std::memory_order_relaxed);
  seq.store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (std::size_t i = 0; i < sizeof(Payload) / 8; ++i) {
    std::atomic_ref<std::uint64_t>(r.words[i]).store(words[i], std::memory_order_relaxed);
  }
  seq.store(s + 2, std::memory_order_release);
}

// `r` lives in a read-only mapping: only loads touch it.
template <class Payload>
bool read_record(const Record<Payload>& r, Payload* out, int attempts) noexcept {
  auto& rec = const_cast<Record<Payload>&>(r);
  std::uint64_t words[sizeof(Payload) / 8];
  for (int a = 0; a < attempts; ++a) {
    std::atomic_ref<std::uint64_t> seq(rec.seq);
    const std::uint64_t s1 = seq.load(std::memory_order_acquire);
    if ((s1 & 1) == 0) {
      for (std::size_t i = 0; i < sizeof(Payload) / 8; ++i) {
        words[i] = std::atomic_ref<std::uint64_t>(rec.words[i]).load(std::memory_order_relaxed);
      }
      std::atomic_thread_fence(std::memory_order_acquire);
      if (seq.load(std::memory_order_relaxed) == s1) {
        std::memcpy(out, words, sizeof words);
        return true;
      }
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  return false;
}

// Copies `text` into a fixed field, truncated, always NUL-terminated.
template <std::size_t N>
void put_text(char (&field)[N], std::string_view text) noexcept {
  const std::size_t n = text.size() < N - 1 ? text.size() : N - 1;
  std::memcpy(field, text.data(), n);
  std::memset(field + n, 0, N - n);
}

template <std::size_t N>
std::string_view get_text(const char (&field)[N]) noexcept {
  return std::string_view(field, strnlen(field, N));
}

}  // namespace graft::control::board
