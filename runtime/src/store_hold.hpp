// A hold on one store copy: while any hold on it lives in this process,
// ArtifactStore::remove leaves the copy (and the files beside it) alone.
//
// Store copies are dropped by more than one party — a slot whose load failed,
// the Installer pruning versions it no longer records — and each knows only
// its own uses. A hold says "in use here": a slot's load from the put until
// its events were heard (by then the Installer records it), a slot's
// rollback target, an install being prepared, every hash the Installer
// records. The check and the unlink happen under one lock, so a held copy is
// never removed; one removed between a put and the hold is put again by the
// slot (SlotImpl::open_file checks after taking the hold).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#pragma GCC visibility push(default)

namespace graft {
class ArtifactStore;
}

namespace graft::detail {

class StoreHold {
 public:
  StoreHold() noexcept = default;
  StoreHold(const ArtifactStore& store, const std::string& sha256);
  StoreHold(const StoreHold& other);
  StoreHold& operator=(const StoreHold& other);
  StoreHold(StoreHold&& other) noexcept;
  StoreHold& operator=(StoreHold&& other) noexcept;
  ~StoreHold();

  // The store copy held ("" when this holds nothing).
  const std::string& sha256() const noexcept { return sha256_; }

 private:
  void take();
  void drop() noexcept;
  std::string key_;  // the store's folder and the hash: holds are per store
  std::string sha256_;
};

// Runs `unlink` under the holds' lock unless a hold on `sha256` in the store
// at `dir` lives. Returns whether it ran.
bool unless_held(const std::filesystem::path& dir, const std::string& sha256,
                 const std::function<void()>& unlink);

}  // namespace graft::detail

#pragma GCC visibility pop
