// The runtime a host embeds: slots, the store, the background housekeeper.
//
//   graft::RuntimeOptions options;
//   options.state_dir = "/var/lib/myhost/graft";
//   auto runtime = graft::Runtime::open(options);
//   auto& slot = runtime->slot<greeter_v1>("greeter");
#pragma once

#include <graft/slot.hpp>
#include <graft/slot_event.hpp>
#include <graft/slot_status.hpp>
#include <graft/status.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace spdlog {
class logger;
}

namespace graft {

class ArtifactStore;

struct RuntimeOptions {
  // Holds the store (copies of every loaded file) and, with [trust], the
  // installed state. Created if missing.
  std::filesystem::path state_dir;
  // How long a swap waits for the old version's calls to finish. Past it the
  // old version stays loaded, shows as draining, and is retried.
  std::chrono::milliseconds drain_deadline{1000};
  // Quiesce: the longest a caller waits at the closed gate before it gets
  // GRAFT_E_UNAVAILABLE.
  std::chrono::milliseconds quiesce_wait{2000};
  // How long the previous version stays loaded after a swap; 0 commits at
  // once.
  std::chrono::milliseconds probation{10000};
  // Errors returned by the new version during probation that make the
  // runtime roll back by itself.
  std::uint64_t probation_error_limit = 5;
  // How often the housekeeper retries draining versions and checks probation.
  std::chrono::milliseconds housekeeping_interval{20};
  // Where the runtime and the components log; default: a "graft" logger on
  // stderr.
  std::shared_ptr<spdlog::logger> logger;
};

// Slots one process can have at once, over all its runtimes; the status
// board holds as many.
inline constexpr unsigned kMaxSlots = detail::kMaxSlots;

class Runtime {
 public:
  struct __attribute__((visibility("hidden"))) Impl;  // internal
  // Throws graft::Error when the state directory cannot be used.
  static std::unique_ptr<Runtime> open(RuntimeOptions options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Declares (or returns) the slot for `component`, typed by the interface
  // table the host was compiled against. Throws graft::Error when the
  // component is already declared with another interface, or when the
  // process has kMaxSlots slots (too_many_slots, naming the limit).
  template <class Table>
  Slot<Table>& slot(std::string_view component) {
    SlotSpec spec{std::string(component), InterfaceTraits<Table>::id, InterfaceTraits<Table>::major,
                  static_cast<std::uint32_t>(sizeof(Table))};
    return static_cast<Slot<Table>&>(
        declare(std::move(spec), [](detail::RuntimeShared& shared, SlotSpec s, std::uint32_t i) {
          return std::unique_ptr<SlotCore>(new Slot<Table>(shared, std::move(s), i));
        }));
  }

  SlotCore* find(std::string_view component) noexcept;
  std::vector<SlotStatus> status() const;

  using Listener = std::function<void(const SlotEvent&)>;
  // Called on the thread where the event happens (often the housekeeping thread); keep it short.
  // A slot's events arrive in the order the slot raised them: a reload of a slot returns once
  // that slot's earlier events were heard, so a listener must not wait for another thread's
  // reload of the same slot (docs/embedding.md, "Events").
  // Listeners stay registered until the Runtime is destroyed, so whatever one captures must
  // outlive the Runtime.
  void on_event(Listener listener);

  const RuntimeOptions& options() const noexcept;
  ArtifactStore& store() noexcept;
  spdlog::logger& logger() noexcept;

 private:
  using SlotFactory = std::unique_ptr<SlotCore> (*)(detail::RuntimeShared&, SlotSpec,
                                                    std::uint32_t);
  explicit Runtime(RuntimeOptions options);
  SlotCore& declare(SlotSpec spec, SlotFactory factory);

  std::unique_ptr<Impl> impl_;
};

}  // namespace graft

#pragma GCC visibility pop
