// Deltas through the fleet: a machine whose hosts all hold the delta's base
// fetches only the delta; a machine that does not fetches the full object;
// both converge on the same signed object. The release is published to the
// object server with HTTP PUT.
#include "fleet_world.hpp"
#include "object_fetch.hpp"

#include <graft/manifest.hpp>

namespace graft::testing {
namespace {

using nlohmann::json;
constexpr auto kDeadline = std::chrono::seconds(90);

TEST(FleetDelta, MachinesHoldingTheBaseFetchOnlyTheDeltaTheOthersTheFullObject) {
  // Machines 0 and 1 run the greeter 1.0.0 the delta was made against;
  // machine 2 runs another build of 1.0.0 (the same code with different
  // bytes), so its hosts' stores do not hold the delta's base. Machine 3
  // runs the base too, but one host's stored copy of it is damaged: the
  // agent sees the base's name there and sends the delta, that host refuses
  // it, and the agent sends the full object after it.
  TempDir scratch;
  const fs::path base = component_file("greeter-1.0.0.so");
  const fs::path other_build = scratch / "greeter-1.0.0-other-build.so";
  fs::copy_file(base, other_build);
  std::ofstream(other_build, std::ios::app | std::ios::binary) << std::string(64, '\0');

  FleetOptions o;
  o.machines = 4;
  o.hosts_per_machine = 2;
  o.start_objects = {base, base, other_build, base};
  FleetWorld w(o);
  {
    const fs::path store = w.machines()[3]->hosts[0]->state / "store";
    const fs::path stored = store / (fleet::sha256_of_file(base, nullptr) + ".so");
    ASSERT_TRUE(fs::exists(stored));
    // Replaced by rename: the running host keeps the file it mapped.
    fs::copy_file(other_build, store / ".damaged");
    fs::rename(store / ".damaged", stored);
  }

  // A delta-only bundle cannot be published: machines without the base
  // would have nothing to fetch.
  const fs::path delta_only = w.work() / "delta-only";
  RunResult r = run_program({GRAFTCTL_PATH, "bundle", "--key", w.secret_key().string(), "--so",
                             component_file("greeter-1.1.0.so").string(), "--version", "1.1.0",
                             "--applies-to", "1.0.0", "--delta-from", base.string(), "--delta-only",
                             "--out", delta_only.string()});
  ASSERT_EQ(r.code, 0) << describe_run(r);
  r = w.publish(delta_only, false);
  EXPECT_EQ(r.code, 1) << describe_run(r);
  EXPECT_NE(r.err.find("carries no full object"), std::string::npos) << r.err;

  const fs::path b = w.delta_bundle(component_file("greeter-1.1.0.so"), "1.1.0", "1.0.0", base);
  Manifest m;
  ASSERT_TRUE(Manifest::parse(read_file(b / "manifest.json"), &m));
  ASSERT_TRUE(m.delta.has_value());
  // Published over HTTP: PUT to an nginx that takes it (dav_methods), on
  // the folder the agents' nginx serves. The agents' nginx itself takes no
  // PUT: that is refused with the cause.
  r = w.graftctl({"fleet", "publish", b.string(), "--objects", w.nginx().url() + "/"});
  EXPECT_EQ(r.code, 5) << describe_run(r);  // kExitError
  EXPECT_NE(r.err.find("HTTP 405 (the server does not take PUT here"), std::string::npos) << r.err;
  TempDir put_dir;
  NginxServer put_server(put_dir.path(), w.nginx().root(),
                         "dav_methods PUT; dav_access user:rw group:r all:r;");
  r = w.graftctl({"fleet", "publish", b.string(), "--objects", put_server.url() + "/", "--deploy"});
  ASSERT_EQ(r.code, 0) << describe_run(r);
  EXPECT_EQ(read_file(w.nginx().root() / m.sha256), read_file(b / m.file));
  EXPECT_EQ(read_file(w.nginx().root() / m.delta->sha256), read_file(b / m.delta->file));
  EXPECT_NE(r.out.find("delta " + m.delta->sha256), std::string::npos) << r.out;
  // Both objects are on the object server, by their hashes.
  EXPECT_TRUE(fs::exists(w.nginx().root() / m.sha256));
  EXPECT_TRUE(fs::exists(w.nginx().root() / m.delta->sha256));

  ASSERT_TRUE(wait_until([&] { return w.hosts_serving("1.1.0") == w.host_count(); }, kDeadline))
      << w.logs();

  // nginx sent the delta three times (machines 0, 1 and 3) and the full
  // object twice (machines 2 and 3), each in whole.
  std::uint64_t delta_sent = 0, full_sent = 0;
  EXPECT_EQ(w.nginx().requests_for(m.delta->sha256, &delta_sent), 3u);
  EXPECT_EQ(w.nginx().requests_for(m.sha256, &full_sent), 2u);
  EXPECT_EQ(delta_sent, 3 * m.delta->size);
  EXPECT_EQ(full_sent, 2 * m.size);
  EXPECT_LT(m.delta->size, m.size / 4) << "the delta should be much smaller than the object";

  // Each agent's /metrics says which route it took.
  for (int i = 0; i < 4; ++i) {
    const std::string text = FleetWorld::metrics(*w.machines()[static_cast<std::size_t>(i)]);
    const bool holds_base = i != 2;
    const bool fell_back = i == 3;
    EXPECT_EQ(FleetWorld::metric(text, "graft_agent_fetch_delta_bytes_total"),
              holds_base ? static_cast<long long>(m.delta->size) : 0)
        << text;
    EXPECT_EQ(FleetWorld::metric(text, "graft_agent_fetch_full_bytes_total"),
              holds_base && !fell_back ? 0 : static_cast<long long>(m.size))
        << text;
    EXPECT_EQ(FleetWorld::metric(text, "graft_agent_delta_fallbacks_total"), fell_back ? 1 : 0)
        << text;
    EXPECT_EQ(FleetWorld::metric(text, "graft_agent_refusals_total"), 0) << text;
    // The hosts of machines 0 and 1 took the delta bundle in; machine 2's
    // the full one; on machine 3, host 1 the delta and host 0 (which
    // refused it) the full one.
    for (const auto& h : w.machines()[static_cast<std::size_t>(i)]->hosts) {
      const bool got_delta = holds_base && !(fell_back && h == w.machines()[3]->hosts[0]);
      bool delta_installed = false, full_installed = false;
      for (const auto& e : fs::directory_iterator(h->inbox / "installed")) {
        const std::string name = e.path().filename().string();
        if (name.rfind("greeter-1.1.0", 0) != 0) continue;
        (name.size() > 6 && name.compare(name.size() - 6, 6, "-delta") == 0 ? delta_installed
                                                                            : full_installed) =
            true;
      }
      EXPECT_EQ(delta_installed, got_delta) << h->name;
      EXPECT_EQ(full_installed, !got_delta) << h->name;
    }
  }

  // The fleet view adds them up.
  ASSERT_TRUE(wait_until(
      [&] {
        const json s = w.status("greeter");
        return s.is_object() && s["rings"][0]["fetched_delta_bytes"] == 3 * m.delta->size &&
               s["rings"][0]["fetched_full_bytes"] == 2 * m.size;
      },
      kDeadline))
      << w.status("greeter").dump(2);
  // The delta bundle machine 3's host refused and got in full is no refusal.
  EXPECT_TRUE(w.status("greeter")["rings"][0]["refusals"].empty()) << w.status("greeter").dump(2);
  const RunResult text = w.graftctl({"fleet", "status", "greeter"});
  EXPECT_NE(text.out.find(std::to_string(3 * m.delta->size) + " bytes as deltas"),
            std::string::npos)
      << text.out;

  for (const auto& report : w.stop_hosts()) {
    EXPECT_EQ(report["failures"], 0) << report.dump();
    EXPECT_EQ(report["version"], "1.1.0");
  }
}

}  // namespace
}  // namespace graft::testing
