#include <graft/slot.hpp>

#include "slot_impl.hpp"

namespace graft {

std::string_view to_string(SwapMode mode) noexcept {
  switch (mode) {
    case SwapMode::immediate:
      return "immediate";
    case SwapMode::quiesce:
      return "quiesce";
    case SwapMode::automatic:
      return "automatic";
  }
  return "unknown";
}

SlotCore::SlotCore(detail::RuntimeShared& shared, SlotSpec spec, std::uint32_t index)
    : gate_(index), impl_(std::make_unique<detail::SlotImpl>(gate_, shared, std::move(spec))) {}

SlotCore::~SlotCore() = default;

const SlotSpec& SlotCore::spec() const noexcept {
  return impl_->spec();
}

Status SlotCore::load(const std::filesystem::path& file, const SwapOptions& options) {
  return impl_->load(file, options);
}

Status SlotCore::swap(const std::filesystem::path& file, const SwapOptions& options) {
  return impl_->swap(file, options);
}

Status SlotCore::install(const Artifact& artifact, const SwapOptions& options) {
  return impl_->load_artifact(artifact, options);
}

Status SlotCore::rollback(std::string_view by, SwapMode mode) {
  return impl_->rollback(by, mode);
}

Status SlotCore::commit(std::string_view by) {
  return impl_->commit(by);
}

SlotStatus SlotCore::status() const {
  return impl_->status();
}

std::optional<Version> SlotCore::serving_version() const {
  return impl_->serving_version();
}

}  // namespace graft
