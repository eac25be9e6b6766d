// What is installed, per component, as written in <state_dir>/installed.json:
// serving and previous version, the highest version ever installed (the floor
// against rollback attacks) and the SHA-256 of each installed version's
// shared object. Saved atomically: temp file, fsync, rename, fsync of the
// folder, so a host killed at any moment leaves the old file or the new one.
#pragma once

#include <graft/status.hpp>
#include <graft/version.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

struct ComponentRecord {
  std::optional<Version> serving;
  std::optional<Version> previous;
  std::optional<Version> highest;
  // Version (printed form) -> SHA-256 of its shared object in the store.
  std::map<std::string, std::string> hashes;
};

class InstalledState {
 public:
  // A missing file is an empty state; a file that does not parse is state_corrupt.
  static Status load(const std::filesystem::path& file, InstalledState* out);
  Status save(const std::filesystem::path& file) const;

  std::string to_json() const;
  static Status from_json(std::string_view text, InstalledState* out);

  std::map<std::string, ComponentRecord> components;
};

}  // namespace graft

#pragma GCC visibility pop
