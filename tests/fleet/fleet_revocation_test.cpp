// Revocations: signed like bundles, carried by etcd or dropped into an
// inbox; hosts serving the version roll back and refuse it from then on.
#include "etcd_client.hpp"
#include "fleet_world.hpp"

#include <graft/revocation.hpp>

namespace graft::testing {
namespace {

using nlohmann::json;
constexpr auto kDeadline = std::chrono::seconds(90);

// Deploys greeter 1.1.0 to every host and waits until all serve it.
void deploy_1_1_0(FleetWorld& w) {
  const auto b = w.bundle(component_file("greeter-1.1.0.so"), "1.1.0", "1.0.0");
  const RunResult r = w.publish(b, true);
  ASSERT_EQ(r.code, 0) << describe_run(r);
  ASSERT_TRUE(wait_until([&] { return w.hosts_serving("1.1.0") == w.host_count(); }, kDeadline))
      << w.logs();
}

std::vector<std::string> agent_refusals(FleetWorld& w) {
  fleet::EtcdOptions eo;
  eo.endpoints = w.etcd().endpoints();
  fleet::EtcdClient etcd(eo);
  std::vector<std::string> out;
  for (const auto& m : w.machines()) {
    std::optional<fleet::KeyValue> kv;
    if (!etcd.get("/graft/test/machines/" + m->id + "/agent", &kv).ok() || !kv) continue;
    const auto j = json::parse(kv->value, nullptr, false);
    for (const auto& r : j.value("refusals", json::array()))
      out.push_back(m->id + ": " + r.value("reason", std::string()));
  }
  return out;
}

bool every_agent_refused_with(FleetWorld& w, const std::string& text) {
  std::size_t n = 0;
  for (const auto& r : agent_refusals(w))
    n += r.find(text) != std::string::npos ? 1 : 0;
  return n == w.machines().size();
}

TEST(FleetRevocation, RevokingAServedVersionReturnsEveryHostToItsPreviousAndItStaysRefused) {
  FleetOptions o;
  o.machines = 2;
  o.hosts_per_machine = 2;
  o.probation_ms = 0;  // committed at once: the rollback goes to the recorded previous
  FleetWorld w(o);
  deploy_1_1_0(w);
  RunResult r = w.graftctl({"fleet", "revoke", "greeter", "1.1.0", "--key", w.secret_key().string(),
                            "--reason", "breaks web sites"});
  ASSERT_EQ(r.code, 0) << describe_run(r);
  ASSERT_TRUE(wait_until([&] { return w.hosts_serving("1.0.0") == w.host_count(); }, kDeadline))
      << w.logs();
  // The agents will not hand it out again...
  ASSERT_TRUE(wait_until([&] { return every_agent_refused_with(w, "revoked: breaks web sites"); },
                         kDeadline));
  // ...and a host refuses the very bundle, dropped into its inbox by hand.
  auto& m = *w.machines()[0];
  auto& h = *m.hosts[0];
  const auto again = w.bundle(component_file("greeter-1.1.0.so"), "1.1.0", "1.0.0", "20d");
  fs::rename(again, h.inbox / "greeter-1.1.0-again");
  const fs::path reason = h.inbox / "refused" / "greeter-1.1.0-again.reason";
  ASSERT_TRUE(wait_until([&] { return fs::exists(reason); }, kDeadline)) << read_file(h.log);
  EXPECT_NE(read_file(reason).find("revoked"), std::string::npos) << read_file(reason);
  EXPECT_EQ(FleetWorld::board_version(m, h), "1.0.0");
  for (const auto& report : w.stop_hosts())
    EXPECT_EQ(report["failures"], 0) << report.dump();
}

TEST(FleetRevocation, AnUnsignedOrForeignRevocationIsRefusedAndChangesNothing) {
  FleetOptions o;
  o.machines = 2;
  o.hosts_per_machine = 1;
  FleetWorld w(o);
  deploy_1_1_0(w);
  // Unsigned: a record put straight into etcd.
  fleet::EtcdOptions eo;
  eo.endpoints = w.etcd().endpoints();
  fleet::EtcdClient etcd(eo);
  Revocation rv;
  rv.component = "greeter";
  rv.version = *Version::parse("1.1.0");
  rv.reason = "forged";
  rv.created = std::time(nullptr);
  rv.key_id = "0000000000000000";
  ASSERT_TRUE(etcd.put("/graft/test/revocations/greeter/1.1.0",
                       json{{"revocation", rv.to_json()}, {"signature", ""}}.dump())
                  .ok());
  ASSERT_TRUE(wait_until([&] { return every_agent_refused_with(w, "unsigned"); }, kDeadline))
      << w.logs();
  // Signed with a key the fleet does not trust.
  const RunResult k =
      run_program({GRAFTCTL_PATH, "keygen", "--out", (w.work() / "foreign").string()});
  ASSERT_EQ(k.code, 0);
  fs::path foreign;
  for (const auto& e : fs::directory_iterator(w.work() / "foreign")) {
    if (e.path().extension() == ".key") foreign = e.path();
  }
  RunResult r = w.graftctl(
      {"fleet", "revoke", "greeter", "1.1.0", "--key", foreign.string(), "--reason", "foreign"});
  ASSERT_EQ(r.code, 0) << describe_run(r);
  ASSERT_TRUE(wait_until([&] { return every_agent_refused_with(w, "not trusted"); }, kDeadline));
  EXPECT_EQ(w.hosts_serving("1.1.0"), w.host_count());
  for (const auto& m : w.machines()) {
    for (const auto& h : m->hosts) {
      for (const auto& e : fs::recursive_directory_iterator(h->inbox))
        EXPECT_EQ(e.path().filename().string().find("revoke-"), std::string::npos) << e.path();
    }
  }
}

TEST(FleetRevocation, ARevocationDroppedIntoAnInboxWorksWithoutEtcd) {
  FleetOptions o;
  o.machines = 1;
  o.hosts_per_machine = 2;
  o.probation_ms = 0;
  FleetWorld w(o);
  deploy_1_1_0(w);
  w.etcd().kill_all();
  const fs::path folder = w.work() / "revocation";
  const RunResult r =
      run_program({GRAFTCTL_PATH, "fleet", "revoke", "greeter", "1.1.0", "--key",
                   w.secret_key().string(), "--reason", "local", "--out", folder.string()});
  ASSERT_EQ(r.code, 0) << describe_run(r);
  auto& m = *w.machines()[0];
  fs::rename(folder, m.hosts[0]->inbox / "revoke-greeter-1.1.0");
  ASSERT_TRUE(
      wait_until([&] { return FleetWorld::board_version(m, *m.hosts[0]) == "1.0.0"; }, kDeadline))
      << read_file(m.hosts[0]->log);
  // Only the host whose inbox got it.
  EXPECT_EQ(FleetWorld::board_version(m, *m.hosts[1]), "1.1.0");
}

}  // namespace
}  // namespace graft::testing
