// The host's auto-install policy, kept in the state directory so that an
// operator's choice outlives restarts.
#pragma once

#include <graft/status.hpp>

#include <atomic>
#include <filesystem>
#include <mutex>

namespace graft::control {

class InstallPolicy {
 public:
  // Reads <state_dir>/control/policy.json; `initial` applies when no
  // choice was ever recorded there. Throws graft::Error when the file
  // exists but cannot be read (an operator's choice is never guessed).
  InstallPolicy(const std::filesystem::path& state_dir, bool initial);

  bool auto_install() const noexcept { return auto_install_.load(std::memory_order_acquire); }
  // Records the choice (temp file, fsync, rename), then applies it.
  Status set_auto_install(bool on);
  // Whether the value came from the state directory rather than `initial`.
  bool recorded() const noexcept { return recorded_.load(); }
  const std::filesystem::path& file() const noexcept { return file_; }

 private:
  std::filesystem::path file_;
  std::atomic<bool> auto_install_{false};
  std::atomic<bool> recorded_{false};
  std::mutex write_mu_;
};

}  // namespace graft::control
