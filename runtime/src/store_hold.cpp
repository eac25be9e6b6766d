#include "store_hold.hpp"

#include <graft/artifact_store.hpp>

#include <map>
#include <mutex>

namespace graft::detail {
namespace {

std::string key_of(const std::filesystem::path& dir, const std::string& sha256) {
  return dir.string() + '/' + sha256;
}

// Process-wide: two ArtifactStore objects on one folder share their holds.
// Leaked on purpose: holds may be dropped by static destructors.
std::mutex& holds_mu() {
  static auto* mu = new std::mutex();
  return *mu;
}
std::map<std::string, unsigned>& holds() {
  static auto* held = new std::map<std::string, unsigned>();
  return *held;
}

}  // namespace

StoreHold::StoreHold(const ArtifactStore& store, const std::string& sha256)
    : key_(key_of(store.dir(), sha256)), sha256_(sha256) {
  take();
}

StoreHold::StoreHold(const StoreHold& other) : key_(other.key_), sha256_(other.sha256_) {
  take();
}

StoreHold& StoreHold::operator=(const StoreHold& other) {
  if (this != &other) *this = StoreHold(other);
  return *this;
}

StoreHold::StoreHold(StoreHold&& other) noexcept
    : key_(std::move(other.key_)), sha256_(std::move(other.sha256_)) {
  other.key_.clear();
  other.sha256_.clear();
}

StoreHold& StoreHold::operator=(StoreHold&& other) noexcept {
  if (this != &other) {
    drop();
    key_ = std::move(other.key_);
    sha256_ = std::move(other.sha256_);
    other.key_.clear();
    other.sha256_.clear();
  }
  return *this;
}

StoreHold::~StoreHold() {
  drop();
}

void StoreHold::take() {
  if (key_.empty()) return;
  std::lock_guard lock(holds_mu());
  ++holds()[key_];
}

void StoreHold::drop() noexcept {
  if (key_.empty()) return;
  std::lock_guard lock(holds_mu());
  auto it = holds().find(key_);
  if (it != holds().end() && --it->second == 0) holds().erase(it);
  key_.clear();
  sha256_.clear();
}

bool unless_held(const std::filesystem::path& dir, const std::string& sha256,
                 const std::function<void()>& unlink) {
  std::lock_guard lock(holds_mu());
  if (holds().count(key_of(dir, sha256)) != 0) return false;
  unlink();
  return true;
}

}  // namespace graft::detail
