#include <graft/status.hpp>

namespace graft {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok:
      return "ok";
    case ErrorCode::file_missing:
      return "file_missing";
    case ErrorCode::not_elf:
      return "not_elf";
    case ErrorCode::wrong_architecture:
      return "wrong_architecture";
    case ErrorCode::not_shared_object:
      return "not_shared_object";
    case ErrorCode::truncated:
      return "truncated";
    case ErrorCode::undefined_symbol:
      return "undefined_symbol";
    case ErrorCode::load_failed:
      return "load_failed";
    case ErrorCode::entry_missing:
      return "entry_missing";
    case ErrorCode::bad_descriptor:
      return "bad_descriptor";
    case ErrorCode::abi_mismatch:
      return "abi_mismatch";
    case ErrorCode::interface_mismatch:
      return "interface_mismatch";
    case ErrorCode::component_mismatch:
      return "component_mismatch";
    case ErrorCode::table_too_small:
      return "table_too_small";
    case ErrorCode::bad_version:
      return "bad_version";
    case ErrorCode::not_newer:
      return "not_newer";
    case ErrorCode::create_failed:
      return "create_failed";
    case ErrorCode::self_test_failed:
      return "self_test_failed";
    case ErrorCode::state_unsupported:
      return "state_unsupported";
    case ErrorCode::state_export_failed:
      return "state_export_failed";
    case ErrorCode::state_import_failed:
      return "state_import_failed";
    case ErrorCode::drain_timeout:
      return "drain_timeout";
    case ErrorCode::reentrant_swap:
      return "reentrant_swap";
    case ErrorCode::no_previous:
      return "no_previous";
    case ErrorCode::not_loaded:
      return "not_loaded";
    case ErrorCode::already_loaded:
      return "already_loaded";
    case ErrorCode::slot_mismatch:
      return "slot_mismatch";
    case ErrorCode::too_many_slots:
      return "too_many_slots";
    case ErrorCode::bundle_invalid:
      return "bundle_invalid";
    case ErrorCode::unknown_key:
      return "unknown_key";
    case ErrorCode::bad_signature:
      return "bad_signature";
    case ErrorCode::size_mismatch:
      return "size_mismatch";
    case ErrorCode::hash_mismatch:
      return "hash_mismatch";
    case ErrorCode::expired:
      return "expired";
    case ErrorCode::downgrade:
      return "downgrade";
    case ErrorCode::wrong_base:
      return "wrong_base";
    case ErrorCode::io_error:
      return "io_error";
    case ErrorCode::state_corrupt:
      return "state_corrupt";
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::unknown_component:
      return "unknown_component";
    case ErrorCode::state_dir_in_use:
      return "state_dir_in_use";
    case ErrorCode::base_missing:
      return "base_missing";
    case ErrorCode::revoked:
      return "revoked";
  }
  return "unknown";
}

}  // namespace graft
