// A slot holds one component behind its interface and swaps it live.
//
//   auto& greeter = runtime->slot<greeter_v1>("greeter");
//   greeter.load("greeter-1.0.0.so");
//   greeter.call(&greeter_v1::greet, "world", buf, sizeof buf);   // any thread
//   greeter.swap("greeter-1.1.0.so");                             // live
#pragma once

#include <graft/call_gate.hpp>
#include <graft/interface.hpp>
#include <graft/slot_status.hpp>
#include <graft/status.hpp>
#include <graft/version.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

struct Artifact;

enum class SwapMode {
  immediate,  // no caller ever waits; the old version drains on its own
  quiesce,    // callers wait at the gate while state moves old -> new
  automatic,  // quiesce when the old version exports state and the new one
              // imports it, immediate otherwise; the event says which ran
};

std::string_view to_string(SwapMode mode) noexcept;

struct SwapOptions {
  SwapMode mode = SwapMode::immediate;
  // Accept a version that is not newer than the serving one (an explicit
  // operator downgrade). Refused otherwise.
  bool allow_older = false;
  // When set, the component's own descriptor must report this version
  // (a bundle's manifest and its code must agree).
  std::optional<Version> expect_version;
  // This load goes back to an older version (a rollback reloaded from the
  // store, or a revocation): nothing is retained for probation, no rollback
  // target remains, and the event is `rolled_back`. With `automatic`, state
  // that cannot move back is left behind (and the event says so).
  bool as_rollback = false;
  // Who asked, for logs and the journal: "operator", "host", "inbox".
  std::string by = "operator";
};

// What a slot is declared as: the component it holds and the interface the
// host was compiled against.
struct SlotSpec {
  std::string component;
  std::string interface_id;
  std::uint32_t interface_major = 0;
  std::uint32_t table_size = 0;  // the host's sizeof(Table): the least a component must provide
};

// Internal: declared hidden here, where they are first named.
namespace detail {
class __attribute__((visibility("hidden"))) SlotImpl;
struct __attribute__((visibility("hidden"))) RuntimeShared;
}  // namespace detail

class SlotCore {
 public:
  SlotCore(const SlotCore&) = delete;
  SlotCore& operator=(const SlotCore&) = delete;
  virtual ~SlotCore();

  const SlotSpec& spec() const noexcept;
  const std::string& component() const noexcept { return spec().component; }

  // Loads the first version into an empty slot (any version is accepted).
  Status load(const std::filesystem::path& file, const SwapOptions& options = {});
  // Loads `file` beside the serving version, publishes it, and drains the
  // old one. On any failure before the publish, the serving version is
  // untouched. On an empty slot this is a load.
  Status swap(const std::filesystem::path& file, const SwapOptions& options = {});
  // Like swap (or load, on an empty slot), from a file already copied into
  // the runtime's store and verified (a bundle's shared object).
  Status install(const Artifact& artifact, const SwapOptions& options = {});
  // Back to the previous version (kept loaded during probation, otherwise
  // loaded again from the store). `automatic` carries state back when the
  // older version can import it, and says in the event when it could not.
  Status rollback(std::string_view by = "operator", SwapMode mode = SwapMode::automatic);
  // Ends probation now and releases the previous version.
  Status commit(std::string_view by = "operator");

  SlotStatus status() const;
  // Callers waiting at the gate right now (closed for a quiesce swap).
  std::size_t callers_waiting() const noexcept { return gate_.waiting(); }
  // The version new calls go to, if any.
  std::optional<Version> serving_version() const;

 protected:
  SlotCore(detail::RuntimeShared& shared, SlotSpec spec, std::uint32_t index);
  detail::CallGate gate_;

 private:
  friend class Runtime;
  std::unique_ptr<detail::SlotImpl> impl_;
};

// The typed view a host calls through. Every interface function takes the
// instance first and returns graft_status. call() is wait-free and
// async-signal-safe once the thread has made a call (or
// graft::prepare_this_thread()); it throws nothing of its own, and lets a
// forced unwind (pthread_exit inside a component) pass, unpinning as it goes.
template <class Table>
class Slot final : public SlotCore {
 public:
  template <class... P, class... A>
  [[gnu::always_inline]] inline graft_status call(graft_status (*Table::*fn)(void*, P...),
                                                  A&&... args) {
    return gate_.call([&](const detail::VersionCell& v) -> graft_status {
      return (static_cast<const Table*>(v.table)->*fn)(v.instance, std::forward<A>(args)...);
    });
  }

 private:
  friend class Runtime;
  using SlotCore::SlotCore;
};

}  // namespace graft

#pragma GCC visibility pop
