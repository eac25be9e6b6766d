// The fleet under faults: the etcd leader killed mid-rollout, the leading
// controller killed, etcd down altogether. Each waits on state with a
// deadline.
#include "etcd_client.hpp"
#include "fleet_world.hpp"
#include "object_fetch.hpp"

#include <graft/manifest.hpp>

#include <chrono>
#include <thread>

namespace graft::testing {
namespace {

using nlohmann::json;
constexpr auto kDeadline = std::chrono::seconds(90);

std::string state_of(FleetWorld& w) {
  const json s = w.status("greeter");
  return s.is_object() ? s.value("state", std::string()) : std::string();
}

// Ring `ring` has hosts and all of them serve the target, committed.
bool ring_on_target(FleetWorld& w, std::size_t ring) {
  const json s = w.status("greeter");
  if (!s.is_object() || s["rings"].size() <= ring) return false;
  const json& r = s["rings"][ring];
  return r["hosts"].get<int>() > 0 && r["hosts"] == r["on_target"];
}

std::size_t count_in(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

void start_rollout(FleetWorld& w, const std::string& bake) {
  const auto b = w.bundle(component_file("greeter-1.1.0.so"), "1.1.0", "1.0.0");
  auto r = w.publish(b, false);
  ASSERT_EQ(r.code, 0) << describe_run(r);
  r = w.graftctl({"fleet", "rollout", "start", "greeter", "1.1.0", "--rings",
                  "canary:1%,broad:100%", "--bake", bake});
  ASSERT_EQ(r.code, 0) << describe_run(r);
}

TEST(FleetFaults, KillingTheEtcdLeaderMidRolloutDoesNotStopIt) {
  FleetOptions o;
  o.etcd_members = 3;
  o.machines = 4;
  o.hosts_per_machine = 1;
  o.labels = {"canary"};
  FleetWorld w(o);
  start_rollout(w, "2s");
  ASSERT_TRUE(wait_until([&] { return ring_on_target(w, 0); }, kDeadline)) << w.logs();
  const int leader = w.etcd().leader();
  ASSERT_GE(leader, 0);
  w.etcd().kill(static_cast<std::size_t>(leader));
  ASSERT_TRUE(wait_until([&] { return state_of(w) == "complete"; }, kDeadline))
      << w.status("greeter").dump(2) << w.logs();
  ASSERT_TRUE(wait_until([&] { return w.hosts_serving("1.1.0") == w.host_count(); }, kDeadline));
  for (const auto& report : w.stop_hosts())
    EXPECT_EQ(report["failures"], 0) << report.dump();
}

TEST(FleetFaults, KillingTheLeadingControllerHandsOverAndTheRolloutCompletesOnce) {
  FleetOptions o;
  o.machines = 4;
  o.hosts_per_machine = 1;
  o.labels = {"canary"};
  o.lease_ttl = 3;
  FleetWorld w(o);
  fleet::EtcdOptions eo;
  eo.endpoints = w.etcd().endpoints();
  fleet::EtcdClient etcd(eo);
  auto leader_id = [&] {
    std::optional<fleet::KeyValue> kv;
    return etcd.leader("/graft/test/controller", &kv).ok() && kv ? kv->value : std::string();
  };
  ASSERT_TRUE(wait_until([&] { return !leader_id().empty(); }, kDeadline));
  const std::string first = leader_id();
  // A long bake keeps the rollout in the canary ring while the leader dies.
  start_rollout(w, "4s");
  ASSERT_TRUE(wait_until([&] { return ring_on_target(w, 0); }, kDeadline)) << w.logs();
  FleetWorld::Machine* dead = nullptr;
  for (auto& m : w.machines()) {
    if (m->id == first) dead = m.get();
  }
  ASSERT_NE(dead, nullptr) << first;
  dead->agent.kill_hard();
  dead->agent.reap();
  ASSERT_TRUE(wait_until([&] { return !leader_id().empty() && leader_id() != first; }, kDeadline));
  // The dead machine's reports went with its lease: the view names it
  // unreachable, and while it is, its ring is not done (its hosts are
  // unaccounted for). Back, it catches up and the rollout completes.
  ASSERT_TRUE(wait_until(
      [&] {
        const json s = w.status("greeter");
        if (!s.is_object()) return false;
        for (const auto& ring : s["rings"]) {
          for (const auto& m : ring["unreachable"])
            if (m == dead->id) return true;
        }
        return false;
      },
      kDeadline))
      << w.status("greeter").dump(2);
  w.start_agent(*dead);
  ASSERT_TRUE(wait_until(
      [&] {
        const json s = w.status("greeter");
        for (const auto& ring : s["rings"]) {
          if (!ring["unreachable"].empty()) return false;
        }
        return s.is_object();
      },
      kDeadline));
  ASSERT_TRUE(wait_until([&] { return w.hosts_serving("1.1.0") == w.host_count(); }, kDeadline))
      << w.logs();
  ASSERT_TRUE(wait_until([&] { return state_of(w) == "complete"; }, kDeadline))
      << w.status("greeter").dump(2) << w.logs();
  // Each promotion was made once, whoever led at the time.
  const std::string logs = w.logs();
  EXPECT_EQ(count_in(logs, "promoted to ring 'broad'"), 1u) << logs;
  EXPECT_EQ(count_in(logs, "every ring serves 1.1.0"), 1u) << logs;
}

TEST(FleetFaults, ARingWithAnUnreachableMachineIsNeitherPromotedNorCompleted) {
  FleetOptions o;
  o.machines = 3;
  o.hosts_per_machine = 1;
  o.labels = {"canary", "canary", "canary"};
  o.lease_ttl = 3;
  FleetWorld w(o);
  // machine-1's agent dies before the rollout: its known/ key stays, its
  // reports go with its lease. The other two canaries take the version.
  FleetWorld::Machine& dead = *w.machines()[1];
  dead.agent.kill_hard();
  dead.agent.reap();
  start_rollout(w, "1s");
  ASSERT_TRUE(wait_until(
      [&] {
        const json s = w.status("greeter");
        return s.is_object() &&
               s.value("note", std::string()).find("unreachable machine") != std::string::npos &&
               s.value("note", std::string()).find(dead.id) != std::string::npos;
      },
      kDeadline))
      << w.status("greeter").dump(2) << w.logs();
  // Held in the canary ring, whose reachable hosts all serve it: with only
  // the reporting hosts counted, it would have been promoted and completed.
  EXPECT_EQ(state_of(w), "rolling") << w.status("greeter").dump(2);
  EXPECT_EQ(w.status("greeter")["active_rings"], 1) << w.status("greeter").dump(2);
  EXPECT_EQ(count_in(w.logs(), "promoted to ring 'broad'"), 0u);
  // Back, it catches up, and the rollout goes on to the end.
  w.start_agent(dead);
  ASSERT_TRUE(wait_until([&] { return state_of(w) == "complete"; }, kDeadline))
      << w.status("greeter").dump(2) << w.logs();
  EXPECT_EQ(w.hosts_serving("1.1.0"), w.host_count());
}

TEST(FleetFaults, WithEtcdDownHostsKeepServingAndTheRolloutResumesAfter) {
  FleetOptions o;
  o.etcd_members = 3;
  o.machines = 3;
  o.hosts_per_machine = 1;
  o.labels = {"canary"};
  FleetWorld w(o);
  start_rollout(w, "2s");
  ASSERT_TRUE(wait_until([&] { return ring_on_target(w, 0); }, kDeadline)) << w.logs();
  w.etcd().kill_all();
  const auto down_since = std::chrono::steady_clock::now();
  // Every agent has noticed and backed off five times (200 ms doubling:
  // about 6 s down, past the agents' 3 s leases)...
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& m : w.machines()) {
          if (count_in(read_file(m->agent_log), "watch of /graft/test/desired/:") < 5) return false;
        }
        return true;
      },
      kDeadline));
  // ...while every host keeps serving: its calls keep rising.
  auto calls = [&] {
    std::uint64_t n = 0;
    for (const auto& m : w.machines()) {
      for (const auto& h : m->hosts) {
        const auto s = read_status_board(HostDirectory(m->run_dir).board_name(h->process.pid()));
        if (s) {
          for (const auto& c : s->components)
            n += c.calls;
        }
      }
    }
    return n;
  };
  const auto before = calls();
  ASSERT_TRUE(wait_until([&] { return calls() > before + 1000; }, kDeadline));
  // The outage lasts 30 s in all (the agents' backoff is capped at 5 s,
  // so each retries several times at the cap); the hosts still serve at its end.
  std::this_thread::sleep_until(down_since + std::chrono::seconds(30));
  const auto late = calls();
  ASSERT_TRUE(wait_until([&] { return calls() > late + 1000; }, kDeadline));
  w.etcd().restart_all();
  ASSERT_TRUE(wait_until([&] { return state_of(w) == "complete"; }, kDeadline))
      << w.status("greeter").dump(2) << w.logs();
  ASSERT_TRUE(wait_until([&] { return w.hosts_serving("1.1.0") == w.host_count(); }, kDeadline));
  for (const auto& report : w.stop_hosts())
    EXPECT_EQ(report["failures"], 0) << report.dump();
}

TEST(FleetFaults, AnAgentKilledMidDownloadResumesWithARangeAndAServerIgnoringRangesIsHandled) {
  // The object server sends a sixth of the object a second (the object is
  // larger in a sanitizer build), so both agents are still downloading
  // when they are killed.
  const auto object_size = fs::file_size(component_file("greeter-1.1.0.so"));
  FleetOptions o;
  o.machines = 2;
  o.hosts_per_machine = 1;
  o.nginx_extra =
      "limit_rate " + std::to_string(std::max<std::uintmax_t>(1024, object_size / 6)) + ";";
  FleetWorld w(o);
  // A second server of the same objects that ignores ranges (always 200).
  TempDir other;
  NginxServer no_ranges(other.path(), w.nginx().root(), "max_ranges 0;");

  const auto b = w.bundle(component_file("greeter-1.1.0.so"), "1.1.0", "1.0.0");
  Manifest m;
  ASSERT_TRUE(Manifest::parse(read_file(b / "manifest.json"), &m));
  ASSERT_GT(m.size, 4096u);
  RunResult r = w.publish(b, true);
  ASSERT_EQ(r.code, 0) << describe_run(r);
  auto part = [&](std::size_t i) {
    return w.machines()[i]->cache / "objects" / (m.sha256 + ".part");
  };
  auto size_of = [](const fs::path& file) -> std::uint64_t {
    std::error_code ec;
    const auto n = fs::file_size(file, ec);
    return ec ? 0 : n;
  };
  ASSERT_TRUE(wait_until([&] { return size_of(part(0)) > 0 && size_of(part(1)) > 0; }, kDeadline))
      << w.logs();
  std::vector<std::uint64_t> had;
  for (std::size_t i = 0; i < 2; ++i) {
    w.machines()[i]->agent.stop(SIGKILL);
    had.push_back(fs::file_size(part(i)));
    EXPECT_LT(had.back(), m.size) << "machine " << i << " was not mid-download";
  }
  // Machine 1 comes back pointed at the server that ignores ranges.
  {
    auto& m1 = *w.machines()[1];
    std::string conf = read_file(m1.config);
    const std::string from = "objects = " + w.nginx().url();
    ASSERT_NE(conf.find(from), std::string::npos);
    conf.replace(conf.find(from), from.size(), "objects = " + no_ranges.url());
    std::ofstream(m1.config) << conf;
  }
  for (std::size_t i = 0; i < 2; ++i)
    w.start_agent(*w.machines()[i]);
  ASSERT_TRUE(wait_until([&] { return w.hosts_serving("1.1.0") == w.host_count(); }, kDeadline))
      << w.logs();

  // Machine 0 asked for the rest only: nginx answered 206 with exactly the
  // bytes it lacked.
  const auto ranged = w.nginx().responses_for(m.sha256);
  int partial_answers = 0;
  for (const auto& [status, bytes] : ranged) {
    if (status != 206) continue;
    ++partial_answers;
    EXPECT_EQ(bytes, m.size - had[0]);
  }
  EXPECT_EQ(partial_answers, 1) << "answers: " << ranged.size();
  // Machine 1's server answered its range request with the whole object
  // (200): the agent started over and kept only what matched the signed
  // hash.
  // Two answers: the range request's (200, which the agent stopped
  // reading), then the whole object asked for afresh.
  const auto whole = no_ranges.responses_for(m.sha256);
  ASSERT_EQ(whole.size(), 2u);
  for (const auto& [status, bytes] : whole)
    EXPECT_EQ(status, 200);
  EXPECT_EQ(whole.back().second, m.size);
  for (std::size_t i = 0; i < 2; ++i) {
    const fs::path object = w.machines()[i]->cache / "objects" / m.sha256;
    std::uint64_t size = 0;
    EXPECT_EQ(fleet::sha256_of_file(object, &size), m.sha256);
    EXPECT_EQ(size, m.size);
    EXPECT_FALSE(fs::exists(part(i)));
  }
}

}  // namespace
}  // namespace graft::testing
