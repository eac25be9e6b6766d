// The outcomes of the change requests a host has seen, by request id: a
// client that retries (its reply lost, or it timed out) gets the first
// outcome again instead of the change being applied twice. A retry that
// arrives while the first is still running waits for its outcome.
//
// Bounded: at most kMaxEntries finished outcomes, each kept for kKeep.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace graft::control {

class RequestOutcomes {
 public:
  using Reply = std::function<void(std::string)>;
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxEntries = 4096;
  static constexpr std::chrono::minutes kKeep{10};

  enum class Admit {
    first,      // never seen: run it, then finish()
    duplicate,  // seen: `reply` was answered (or will be, when the first finishes)
    conflict,   // the id was used for a different request: refuse it
  };

  // `fingerprint` is what makes two requests the same request (the request
  // without its deadline).
  Admit admit(std::uint64_t id, const std::string& fingerprint, const Reply& reply) {
    std::string payload;
    {
      std::lock_guard lock(mu_);
      prune_locked(Clock::now());
      auto it = entries_.find(id);
      if (it == entries_.end()) {
        entries_.emplace(id, Entry{fingerprint, false, {}, {}, {}});
        return Admit::first;
      }
      if (it->second.fingerprint != fingerprint) return Admit::conflict;
      if (!it->second.done) {
        it->second.waiting.push_back(reply);
        return Admit::duplicate;
      }
      payload = it->second.payload;
    }
    reply(std::move(payload));
    return Admit::duplicate;
  }

  // Records the first outcome and answers the retries waiting for it.
  void finish(std::uint64_t id, const std::string& payload) {
    std::vector<Reply> waiting;
    {
      std::lock_guard lock(mu_);
      auto it = entries_.find(id);
      if (it == entries_.end()) return;
      it->second.done = true;
      it->second.payload = payload;
      it->second.finished = Clock::now();
      waiting = std::move(it->second.waiting);
      finished_.push_back(id);
    }
    for (auto& w : waiting)
      w(payload);
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

 private:
  struct Entry {
    std::string fingerprint;
    bool done = false;
    std::string payload;
    std::vector<Reply> waiting;
    Clock::time_point finished;
  };

  // Oldest finished first: past kKeep, or beyond kMaxEntries.
  void prune_locked(Clock::time_point now) {
    while (!finished_.empty()) {
      auto it = entries_.find(finished_.front());
      const bool stale = it == entries_.end() || now - it->second.finished > kKeep ||
                         finished_.size() > kMaxEntries;
      if (!stale) break;
      if (it != entries_.end()) entries_.erase(it);
      finished_.pop_front();
    }
  }

  mutable std::mutex mu_;
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::deque<std::uint64_t> finished_;  // ids in the order they finished
};

}  // namespace graft::control
