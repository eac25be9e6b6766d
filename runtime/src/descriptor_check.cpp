#include "descriptor_check.hpp"

#include <cstring>

namespace graft::detail {
namespace {

bool read_string(const char* s, std::string* out) {
  if (s == nullptr) return false;
  const std::size_t n = ::strnlen(s, kMaxDescriptorString + 1);
  if (n == 0 || n > kMaxDescriptorString) return false;
  out->assign(s, n);
  return true;
}

}  // namespace

Status check_descriptor(const graft_component_descriptor* d, const SlotSpec& spec,
                        const std::string& what, DescriptorFacts* facts) {
  if (d == nullptr) {
    return Status(ErrorCode::bad_descriptor, what + ": entry function returned no descriptor");
  }
  // Only the two leading fields are known to exist before the size check.
  const std::uint32_t size = d->struct_size;
  if (d->abi_version != GRAFT_ABI_VERSION) {
    return Status(ErrorCode::abi_mismatch,
                  what + ": built for graft ABI " + std::to_string(d->abi_version) +
                      ", this host speaks ABI " + std::to_string(GRAFT_ABI_VERSION) +
                      " (an ABI change cannot be patched live; it needs a new host build)");
  }
  if (size < GRAFT_DESCRIPTOR_MIN_SIZE) {
    return Status(ErrorCode::bad_descriptor,
                  what + ": descriptor is " + std::to_string(size) + " bytes, less than the " +
                      std::to_string(GRAFT_DESCRIPTOR_MIN_SIZE) + " that ABI 1 requires");
  }
  DescriptorFacts f;
  if (!read_string(d->component_name, &f.name)) {
    return Status(ErrorCode::bad_descriptor, what + ": descriptor has no valid component name");
  }
  std::string version_text;
  if (!read_string(d->component_version, &version_text)) {
    return Status(ErrorCode::bad_descriptor, what + ": descriptor has no valid version");
  }
  std::string why;
  auto v = Version::parse(version_text, &why);
  if (!v) return Status(ErrorCode::bad_version, what + ": " + why);
  f.version = *v;
  if (!read_string(d->interface_id, &f.interface_id)) {
    return Status(ErrorCode::bad_descriptor, what + ": descriptor has no valid interface id");
  }
  f.interface_major = d->interface_major;
  if (f.name != spec.component) {
    return Status(ErrorCode::component_mismatch, what + ": is component '" + f.name +
                                                     "', the slot holds '" + spec.component + "'");
  }
  if (f.interface_id != spec.interface_id || f.interface_major != spec.interface_major) {
    return Status(ErrorCode::interface_mismatch,
                  what + ": implements interface '" + f.interface_id + "' v" +
                      std::to_string(f.interface_major) + ", the slot needs '" + spec.interface_id +
                      "' v" + std::to_string(spec.interface_major) +
                      " (an interface change cannot be patched live; it needs a new host build)");
  }
  if (d->table == nullptr || d->table_size < spec.table_size) {
    return Status(ErrorCode::table_too_small,
                  what + ": function table is " + std::to_string(d->table_size) +
                      " bytes, the interface needs " + std::to_string(spec.table_size));
  }
  {
    // Every entry the host will call must be present.
    const auto* entries = static_cast<void (*const*)()>(d->table);
    for (std::size_t i = 0; i < spec.table_size / sizeof(void (*)()); ++i) {
      if (entries[i] == nullptr) {
        return Status(ErrorCode::bad_descriptor,
                      what + ": function table entry " + std::to_string(i) + " is null");
      }
    }
  }
  if (d->create == nullptr || d->destroy == nullptr) {
    return Status(ErrorCode::bad_descriptor, what + ": descriptor lacks create or destroy");
  }
  f.has_self_test = GRAFT_DESCRIPTOR_HAS(size, self_test) && d->self_test != nullptr;
  if (GRAFT_DESCRIPTOR_HAS(size, state_schema)) f.state_schema = d->state_schema;
  f.can_export = GRAFT_DESCRIPTOR_HAS(size, export_state) && d->export_state != nullptr;
  f.can_import = GRAFT_DESCRIPTOR_HAS(size, import_state) && d->import_state != nullptr;
  *facts = std::move(f);
  return Status();
}

}  // namespace graft::detail
