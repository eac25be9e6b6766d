// The fleet end to end: real etcd, real nginx, real agents and test hosts
// under call load. Each test waits on the state it needs (with a generous
// deadline), never on the clock.
#include "fleet_world.hpp"

#include <cstdlib>

namespace graft::testing {
namespace {

using nlohmann::json;
constexpr auto kDeadline = std::chrono::seconds(90);

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

fs::path greeter(const std::string& file) {
  return component_file(file);
}

std::string state_of(FleetWorld& w) {
  const json s = w.status("greeter");
  return s.is_object() ? s.value("state", std::string()) : std::string();
}

TEST(FleetRollout, EveryHostConvergesThroughThreeRingsWithoutAFailedCall) {
  // 20 machines x 5 hosts = 100 host processes (6 x 3 under a sanitizer;
  // the environment's GRAFT_FLEET_MACHINES and GRAFT_FLEET_HOSTS change it).
  FleetOptions o;
  o.etcd_members = 3;
  o.machines = env_int("GRAFT_FLEET_MACHINES", GRAFT_FLEET_MACHINES);
  o.hosts_per_machine = env_int("GRAFT_FLEET_HOSTS", GRAFT_FLEET_HOSTS);
  o.labels = {"canary", "early"};
  FleetWorld w(o);
  const auto b = w.bundle(greeter("greeter-1.1.0.so"), "1.1.0", "1.0.0");
  auto r = w.publish(b, false);
  ASSERT_EQ(r.code, 0) << describe_run(r);
  r = w.graftctl({"fleet", "rollout", "start", "greeter", "1.1.0", "--rings",
                  "canary:1%,early:10%,broad:100%", "--bake", "1s"});
  ASSERT_EQ(r.code, 0) << describe_run(r);
  ASSERT_TRUE(wait_until([&] { return state_of(w) == "complete"; }, kDeadline))
      << w.status("greeter").dump(2) << w.logs();
  ASSERT_TRUE(wait_until([&] { return w.hosts_serving("1.1.0") == w.host_count(); }, kDeadline));
  const json s = w.status("greeter");
  for (const auto& ring : s["rings"]) {
    EXPECT_EQ(ring["hosts"], ring["on_target"]) << s.dump(2);
    EXPECT_EQ(ring["rolled_back"], 0);
  }
  // One fetch per machine, not per host.
  EXPECT_EQ(w.nginx().object_requests(), static_cast<std::size_t>(o.machines));
  for (const auto& report : w.stop_hosts()) {
    EXPECT_EQ(report["failures"], 0) << report.dump();
    EXPECT_GT(report["calls"].get<std::uint64_t>(), 0u);
    EXPECT_EQ(report["version"], "1.1.0");
  }
}

TEST(FleetRollout, ABadResponseHaltsAtTheCanaryRing) {
  FleetOptions o;
  o.machines = 4;
  o.hosts_per_machine = 2;
  o.labels = {"canary"};
  FleetWorld w(o);
  const auto bad = w.bundle(fixture_file("faulty", "greeter-1.2.0.so"), "1.2.0", "1.0.0");
  ASSERT_EQ(w.publish(bad, false).code, 0);
  auto r = w.graftctl({"fleet", "rollout", "start", "greeter", "1.2.0", "--rings",
                       "canary:1%,broad:100%", "--bake", "0", "--max-rollbacks", "0"});
  ASSERT_EQ(r.code, 0) << describe_run(r);
  ASSERT_TRUE(wait_until([&] { return state_of(w) == "halted"; }, kDeadline))
      << w.status("greeter").dump(2) << w.logs();
  const json s = w.status("greeter");
  EXPECT_FALSE(s["halted_by"].empty()) << s.dump(2);
  EXPECT_EQ(s["active_rings"], 1);
  // The canary's hosts rolled back by probation to what they had.
  auto& canary = *w.machines()[0];
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& h : canary.hosts) {
          if (FleetWorld::board_version(canary, *h) != "1.0.0") return false;
        }
        return true;
      },
      kDeadline));
  // No machine outside the canary ever received the bundle.
  for (std::size_t m = 1; m < w.machines().size(); ++m) {
    for (const auto& h : w.machines()[m]->hosts) {
      for (const auto& e : fs::recursive_directory_iterator(h->inbox)) {
        EXPECT_EQ(e.path().filename().string().find("greeter-1.2.0"), std::string::npos)
            << e.path();
      }
    }
  }
  // And the halt holds: the rollout stays halted, ring 0 only.
  EXPECT_EQ(w.status("greeter")["state"], "halted");
  EXPECT_EQ(w.hosts_serving("1.0.0"), w.host_count());
}

TEST(FleetRollout, AnErrorRateOverTheLimitHaltsAtTheCanaryRingWithoutARollback) {
  // 1.3.0 fails every fifth greet. Probation here tolerates any number of
  // errors and lasts longer than the test, so neither a rollback nor a
  // promotion can happen: only the error-rate rule can stop the rollout.
  FleetOptions o;
  o.machines = 3;
  o.hosts_per_machine = 2;
  o.labels = {"canary"};
  o.probation_ms = 600000;
  o.probation_errors = 1000000000;
  FleetWorld w(o);
  const auto flaky = w.bundle(fixture_file("flaky", "greeter-1.3.0.so"), "1.3.0", "1.0.0");
  ASSERT_EQ(w.publish(flaky, false).code, 0);
  auto r = w.graftctl({"fleet", "rollout", "start", "greeter", "1.3.0", "--rings",
                       "canary:1%,broad:100%", "--bake", "0", "--max-error-rate", "150%"});
  EXPECT_EQ(r.code, 2) << describe_run(r);
  EXPECT_NE(r.err.find("--max-error-rate: error rate '150%'"), std::string::npos) << r.err;
  r = w.graftctl({"fleet", "rollout", "start", "greeter", "1.3.0", "--rings",
                  "canary:1%,broad:100%", "--bake", "0", "--max-error-rate", "5%"});
  ASSERT_EQ(r.code, 0) << describe_run(r);
  EXPECT_NE(r.out.find("halts past 0 rollback(s) or an error rate over 5%"), std::string::npos)
      << r.out;
  ASSERT_TRUE(wait_until([&] { return state_of(w) == "halted"; }, kDeadline))
      << w.status("greeter").dump(2) << w.logs();
  const json s = w.status("greeter");
  EXPECT_EQ(s["active_rings"], 1) << s.dump(2);
  EXPECT_NE(s["note"].get<std::string>().find("error rate over the limit of 5%"), std::string::npos)
      << s.dump(2);
  ASSERT_FALSE(s["halted_by"].empty()) << s.dump(2);
  for (const auto& h : s["halted_by"]) {
    EXPECT_EQ(h.get<std::string>().rfind("machine-0/machine-0-host-", 0), 0u) << s.dump(2);
    EXPECT_NE(h.get<std::string>().find(" errs on "), std::string::npos) << s.dump(2);
  }
  EXPECT_EQ(s["rings"][0]["rolled_back"], 0) << s.dump(2);
  const RunResult text = w.graftctl({"fleet", "status", "greeter"});
  EXPECT_NE(text.out.find("halted by machine-0/machine-0-host-"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("error rate over the limit: machine-0/"), std::string::npos) << text.out;
  // The canary still serves 1.3.0 (no rollback); nobody else received it.
  auto& canary = *w.machines()[0];
  for (const auto& h : canary.hosts)
    EXPECT_EQ(FleetWorld::board_version(canary, *h), "1.3.0?") << h->name;
  for (std::size_t m = 1; m < w.machines().size(); ++m) {
    for (const auto& h : w.machines()[m]->hosts) {
      EXPECT_EQ(FleetWorld::board_version(*w.machines()[m], *h), "1.0.0");
      for (const auto& e : fs::recursive_directory_iterator(h->inbox)) {
        EXPECT_EQ(e.path().filename().string().find("greeter-1.3.0"), std::string::npos)
            << e.path();
      }
    }
  }
  EXPECT_EQ(state_of(w), "halted");
}

TEST(FleetRollout, ACorruptedTruncatedOrWrongSizeObjectIsRefusedAndNothingInstalled) {
  FleetOptions o;
  o.machines = 2;
  o.hosts_per_machine = 1;
  FleetWorld w(o);
  const auto b = w.bundle(greeter("greeter-1.1.0.so"), "1.1.0", "1.0.0");
  // Publish to the object store, then damage the object there before any
  // machine is told to fetch it.
  ASSERT_EQ(w.publish(b, false).code, 0);
  fs::path object;
  for (const auto& e : fs::directory_iterator(w.nginx().root()))
    object = e.path();
  const auto size = fs::file_size(object);
  {
    std::fstream f(object, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.put('\x5a');
  }
  auto r = w.graftctl(
      {"fleet", "rollout", "start", "greeter", "1.1.0", "--rings", "all:100%", "--bake", "0"});
  ASSERT_EQ(r.code, 0) << describe_run(r);
  auto refused_with = [&](const std::string& text) {
    const json s = w.status("greeter");
    if (!s.is_object()) return false;
    int n = 0;
    for (const auto& f : s["rings"][0]["refusals"])
      n += f.get<std::string>().find(text) != std::string::npos ? 1 : 0;
    return n == static_cast<int>(w.machines().size());
  };
  ASSERT_TRUE(
      wait_until([&] { return refused_with("differs from the signed manifest"); }, kDeadline))
      << w.status("greeter").dump(2);
  // Truncated: shorter than signed.
  fs::resize_file(object, size - 100);
  ASSERT_TRUE(wait_until([&] { return refused_with("the signed manifest says"); }, kDeadline))
      << w.status("greeter").dump(2);
  // Longer than signed: cut off at the signed size.
  fs::resize_file(object, size + 4096);
  ASSERT_TRUE(
      wait_until([&] { return refused_with("longer than the signed manifest"); }, kDeadline))
      << w.status("greeter").dump(2);
  for (const auto& m : w.machines()) {
    for (const auto& h : m->hosts) {
      EXPECT_EQ(FleetWorld::board_version(*m, *h), "1.0.0");
      std::size_t entries = 0;
      for (const auto& e : fs::directory_iterator(h->inbox))
        entries += e.path().filename().string().rfind("greeter", 0) == 0 ? 1 : 0;
      EXPECT_EQ(entries, 0u) << "nothing reaches an inbox";
    }
  }
  // The object repaired: the same signed release now goes through.
  fs::copy_file(b / "greeter-1.1.0.so", object, fs::copy_options::overwrite_existing);
  ASSERT_TRUE(wait_until([&] { return w.hosts_serving("1.1.0") == w.host_count(); }, kDeadline))
      << w.logs();
}

TEST(FleetRollout, AReplayedOldReleaseRecordIsRefused) {
  FleetOptions o;
  o.machines = 2;
  o.hosts_per_machine = 1;
  FleetWorld w(o);
  const auto old_bundle = w.bundle(greeter("greeter-1.0.0.so"), "1.0.0", "1.0.0");
  ASSERT_EQ(w.publish(old_bundle, false).code, 0);
  const auto b = w.bundle(greeter("greeter-1.1.0.so"), "1.1.0", "1.0.0");
  ASSERT_EQ(w.publish(b, true).code, 0);
  ASSERT_TRUE(wait_until([&] { return w.hosts_serving("1.1.0") == w.host_count(); }, kDeadline))
      << w.logs();
  // Someone with write access to etcd points the fleet back at the old record.
  auto r = w.graftctl(
      {"fleet", "rollout", "start", "greeter", "1.0.0", "--rings", "all:100%", "--bake", "0"});
  ASSERT_EQ(r.code, 0) << describe_run(r);
  ASSERT_TRUE(wait_until(
      [&] {
        const json s = w.status("greeter");
        return s.is_object() && s["rings"][0]["refusals"].size() == w.machines().size() &&
               s["rings"][0]["refusals"][0].get<std::string>().find("downgrade") !=
                   std::string::npos;
      },
      kDeadline))
      << w.status("greeter").dump(2);
  EXPECT_EQ(w.hosts_serving("1.1.0"), w.host_count());
  // The agent's /metrics says the same: one fetch of the object, its hosts
  // on 1.1.0, the refusal counted.
  const std::string log = read_file(w.machines()[0]->agent_log);
  const auto at = log.find("metrics at ");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string url = log.substr(at + 11, log.find('\n', at) - at - 11);
  std::string metrics;
  ASSERT_EQ(http_get(url, &metrics), 200) << url;
  EXPECT_NE(metrics.find("graft_agent_fetch_bytes_total " +
                         std::to_string(fs::file_size(b / "greeter-1.1.0.so"))),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("version=\"1.1.0\",state=\"serving\"} 1"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("graft_agent_refusals_total 0"), std::string::npos) << metrics;
  EXPECT_EQ(http_get(url.substr(0, url.rfind('/')) + "/other"), 404);
  // A release record re-published with another manifest is refused too.
  const auto other = w.bundle(greeter("greeter-1.1.0.so"), "1.1.0", "1.0.0", "20d");
  r = w.publish(other, false);
  EXPECT_EQ(r.code, 1) << describe_run(r);
  EXPECT_NE(r.err.find("already published"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace graft::testing
