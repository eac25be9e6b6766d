// One loaded version of a component: its library, descriptor, instance and
// the host services it was given. Unloading is explicit and checked.
#pragma once

#include <graft/abi.h>
#include <graft/artifact_store.hpp>
#include <graft/call_gate.hpp>
#include <graft/slot.hpp>
#include <graft/status.hpp>
#include <graft/version.hpp>

#include "descriptor_check.hpp"

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace graft::detail {

class LoadedLibrary;

class LoadedComponent {
 public:
  // Classifies, loads (rtld_now | rtld_local), validates, creates and
  // self-tests. On failure nothing stays loaded.
  static Status open(const Artifact& artifact, const SlotSpec& spec, const CallGate& gate,
                     std::shared_ptr<spdlog::logger> logger, std::unique_ptr<LoadedComponent>* out);
  ~LoadedComponent();
  LoadedComponent(const LoadedComponent&) = delete;
  LoadedComponent& operator=(const LoadedComponent&) = delete;

  // Destroys the instance and closes the library. Returns false when the
  // object is still mapped afterwards (reported, never retried).
  bool unload();

  Status export_state(std::string* bytes) const;
  Status import_state(std::uint32_t schema, const std::string& bytes);

  VersionCell& cell() noexcept { return cell_; }
  const VersionCell& cell() const noexcept { return cell_; }
  const DescriptorFacts& facts() const noexcept { return facts_; }
  const Version& version() const noexcept { return facts_.version; }
  const Artifact& artifact() const noexcept { return artifact_; }
  // "component 'x' 1.2.0 (file '...')": the prefix of this version's messages.
  std::string describe() const;
  spdlog::logger& logger() const noexcept { return *logger_; }

 private:
  LoadedComponent() = default;
  static void log_bridge(void* context, graft_log_level level, const char* message);

  Artifact artifact_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<LoadedLibrary> library_;
  const graft_component_descriptor* descriptor_ = nullptr;
  DescriptorFacts facts_;
  graft_host_services services_{};
  void* instance_ = nullptr;
  VersionCell cell_;
};

}  // namespace graft::detail
