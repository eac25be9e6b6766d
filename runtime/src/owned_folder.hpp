// Folders the host writes to or trusts what it finds in (the state
// directory, the store, the inbox and its refused/ and installed/ folders)
// must be the host user's and closed to others: a folder another user can
// write lets them plant a store object or an installed.json that a restart
// would load, swap a file for a symlink, or fill the inbox with FIFOs.
//
//   detail::ensure_owned_folder(state_dir, "state directory");  // throws graft::Error
#pragma once

#include <graft/status.hpp>

#include <filesystem>

// Exported for graft's own libraries, graftctl and tests, not a public API.
#pragma GCC visibility push(default)

namespace graft::detail {

// Creates `dir` (mode 0700, so that the umask cannot leave it open) when it
// does not exist, then checks it: a folder (following a symlink the operator
// may have made to it), owned by this process's effective user, not writable
// by group or others. `what` names it in the error ("state directory").
// With `no_symlink`, the folder itself must not be a symlink (a folder the
// host makes inside one it owns, such as the inbox's refused/).
Status ensure_owned_folder(const std::filesystem::path& dir, const char* what,
                           bool no_symlink = false);

}  // namespace graft::detail

#pragma GCC visibility pop
