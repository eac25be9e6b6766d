// Where a host's changes run: one SerialWorker per component, so that
// changes to one component run one at a time and in order, while a
// rollback or commit of one component never waits behind a long install of
// another. Lanes are made on first use; past kMaxLanes, further names share
// the lane of the empty name.
#pragma once

#include "serial_worker.hpp"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace graft::control {

class ChangeLanes {
 public:
  static constexpr std::size_t kMaxLanes = 64;

  // False (and the job dropped) once stopping.
  bool post(const std::string& lane, std::function<void()> job) {
    // Posting does not block; under the lock, so stop() cannot free the
    // worker in between.
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    auto it = lanes_.find(lane);
    if (it == lanes_.end()) {
      const std::string name = lanes_.size() < kMaxLanes ? lane : std::string();
      it = lanes_.find(name);
      if (it == lanes_.end()) it = lanes_.emplace(name, std::make_unique<SerialWorker>()).first;
    }
    return it->second->post(std::move(job));
  }

  // Runs the jobs already posted, then stops every lane.
  void stop() {
    std::map<std::string, std::unique_ptr<SerialWorker>> lanes;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      lanes.swap(lanes_);
    }
    for (auto& [name, worker] : lanes)
      worker->stop();
  }

  ~ChangeLanes() { stop(); }

 private:
  std::mutex mu_;
  bool stopping_ = false;
  std::map<std::string, std::unique_ptr<SerialWorker>> lanes_;
};

}  // namespace graft::control
