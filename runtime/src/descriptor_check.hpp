// Checks a component's descriptor against the slot it is meant for, reading
// no field beyond the size the component declared.
#pragma once

#include <graft/abi.h>
#include <graft/slot.hpp>
#include <graft/status.hpp>
#include <graft/version.hpp>

#include <string>

// Exported for graft's own trust and control libraries and tests, not a public API.
#pragma GCC visibility push(default)

namespace graft::detail {

// What a valid descriptor tells the host.
struct DescriptorFacts {
  std::string name;
  Version version;
  std::string interface_id;
  std::uint32_t interface_major = 0;
  bool has_self_test = false;
  bool can_export = false;
  bool can_import = false;
  std::uint32_t state_schema = 0;
};

// Validates `d` for `spec`; `what` prefixes every message.
Status check_descriptor(const graft_component_descriptor* d, const SlotSpec& spec,
                        const std::string& what, DescriptorFacts* facts);

// Longest string the host reads from a descriptor; longer is refused.
inline constexpr std::size_t kMaxDescriptorString = 256;

}  // namespace graft::detail

#pragma GCC visibility pop
