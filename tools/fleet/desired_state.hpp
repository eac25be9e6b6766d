// What the fleet should serve of one component: the target version and the
// rollout that brings it there, ring by ring. It lives in one etcd key
// (/graft/<fleet>/desired/<component>) so that agents watch one thing and a
// new controller leader resumes where the last one stopped.
//
// Rings are cumulative slices of the fleet: "canary:1%,early:10%,broad:100%"
// means the first 1% of machines by bucket, then the first 10%, then all. A
// machine's bucket is a stable hash of its id (0..9999); a machine whose
// configured ring label names a ring belongs to that ring instead.
#pragma once

#include <graft/status.hpp>
#include <graft/version.hpp>

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

namespace graft::fleet {

struct Ring {
  std::string name;
  double percent = 100.0;  // cumulative share of the fleet, 0 < percent <= 100
};

// Calls a host makes on a version before its error rate counts.
inline constexpr std::uint64_t kMinCallsForErrorRate = 50;

// "5%" or "0.05" -> 0.05; an error names the text.
Status parse_error_rate(const std::string& text, double* out);

// "canary:1%,early:10%,broad:100%" -> rings; an error names the bad part.
Status parse_rings(const std::string& text, std::vector<Ring>* out);
std::string rings_to_string(const std::vector<Ring>& rings);

// FNV-1a of the machine id, modulo 10000: the same on every machine.
std::uint32_t machine_bucket(const std::string& machine_id);
// The index of the first ring the machine belongs to (-1: none).
int ring_of(const std::vector<Ring>& rings, std::uint32_t bucket, const std::string& label);

enum class RolloutState { rolling, paused, halted, aborted, complete };
std::string to_string(RolloutState s);
bool parse_rollout_state(const std::string& text, RolloutState* out);

struct DesiredState {
  std::string component;
  Version version;
  std::vector<Ring> rings = {{"all", 100.0}};
  std::size_t active = 1;  // rings [0, active) are to serve `version`
  RolloutState state = RolloutState::rolling;
  std::int64_t bake_seconds = 0;
  int max_rollbacks = 0;
  // Halt when a host serving the version errs on more than this share of
  // its calls (0..1); negative: no limit. Judged once the host made
  // kMinCallsForErrorRate calls on the version.
  double max_error_rate = -1.0;
  std::time_t started = 0;
  std::time_t ring_healthy_since = 0;  // 0 until every host of the active rings is on target
  std::vector<std::string> halted_by;  // hosts that rolled back ("machine/host")
  std::string note;                    // why the state last changed

  std::string to_json() const;
  static Status parse(const std::string& text, DesiredState* out);
  // Whether a machine in ring `ring` is to serve the version now.
  bool targets(int ring) const {
    return ring >= 0 && static_cast<std::size_t>(ring) < active && state != RolloutState::aborted;
  }
};

}  // namespace graft::fleet
