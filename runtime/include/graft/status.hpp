// The outcome of a runtime operation: a code a program can branch on and a
// message that names the component, the file and the cause.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

enum class ErrorCode {
  ok = 0,
  // The component file and its loading.
  file_missing,
  not_elf,
  wrong_architecture,
  not_shared_object,
  truncated,
  undefined_symbol,
  load_failed,
  entry_missing,
  bad_descriptor,
  abi_mismatch,
  interface_mismatch,
  component_mismatch,
  table_too_small,
  bad_version,
  not_newer,
  // The component's own lifecycle.
  create_failed,
  self_test_failed,
  state_unsupported,
  state_export_failed,
  state_import_failed,
  // The swap.
  drain_timeout,
  reentrant_swap,
  no_previous,
  not_loaded,
  already_loaded,
  slot_mismatch,
  too_many_slots,
  // Bundles and trust.
  bundle_invalid,
  unknown_key,
  bad_signature,
  size_mismatch,
  hash_mismatch,
  expired,
  downgrade,
  wrong_base,
  // The store, the state directory and the operating system.
  io_error,
  state_corrupt,
  invalid_argument,
  // The host declared no slot for the component a bundle or request names.
  unknown_component,
  // Another host (or another Runtime in this process) holds the state directory.
  state_dir_in_use,
  // A delta bundle names a base object this host's store does not hold.
  base_missing,
  // A signed revocation withdrew this version: never installed again.
  revoked,
};

// A stable, lower-case name for the code ("file_missing"), used in logs,
// the journal and graftctl's JSON.
std::string_view to_string(ErrorCode code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const noexcept { return code_ == ErrorCode::ok; }
  explicit operator bool() const noexcept { return ok(); }
  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

 private:
  ErrorCode code_ = ErrorCode::ok;
  std::string message_;
};

// Thrown only where no status can be returned (opening a runtime).
class Error : public std::runtime_error {
 public:
  explicit Error(Status status)
      : std::runtime_error(status.message()), status_(std::move(status)) {}
  const Status& status() const noexcept { return status_; }

 private:
  Status status_;
};

}  // namespace graft

#pragma GCC visibility pop
