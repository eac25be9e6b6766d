// One host per state directory. Two hosts on one folder would each save the
// installed state from their own memory, and the later save could lower the
// highest version ever installed (the floor against rollback attacks) or
// drop store files the other still records.
#pragma once

#include "file_io.hpp"

#include <filesystem>

namespace graft::detail {

class StateDirLock {
 public:
  // Creates the folder if missing and holds an exclusive flock on
  // <dir>/lock (which names the holder's pid) until destroyed. Throws
  // graft::Error (state_dir_in_use, or io_error) when it cannot.
  explicit StateDirLock(const std::filesystem::path& dir);

 private:
  UniqueFd fd_;
};

}  // namespace graft::detail
