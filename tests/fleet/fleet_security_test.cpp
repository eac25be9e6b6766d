// etcd over TLS with client certificates and with etcd's authentication on,
// certificates made by the openssl command at test time: agents and
// graftctl work through it, get a new token when etcd voids theirs, and
// each wrong setting fails with an error that names its cause.
#include "etcd_client.hpp"
#include "fleet_world.hpp"

namespace graft::testing {
namespace {

using nlohmann::json;
constexpr auto kDeadline = std::chrono::seconds(90);

fleet::EtcdOptions client_options(FleetWorld& w) {
  const EtcdTls t = w.certificates()->etcd_tls();
  fleet::EtcdOptions o;
  o.endpoints = w.etcd().endpoints();
  o.ca_file = t.ca.string();
  o.cert_file = t.client_cert.string();
  o.key_file = t.client_key.string();
  o.username = "root";
  o.password = FleetWorld::kRootPassword;
  return o;
}

TEST(FleetSecurity, AgentsWorkOverEtcdTlsAndAuthenticationAndEveryWrongSettingIsNamed) {
  FleetOptions o;
  o.machines = 2;
  o.hosts_per_machine = 1;
  o.etcd_tls = true;
  o.etcd_auth = true;
  FleetWorld w(o);
  ASSERT_EQ(w.etcd().member(0).client_url().rfind("https://", 0), 0u);

  // Plain http gets nowhere.
  {
    std::string body;
    EXPECT_NE(http_get("http://127.0.0.1:" + std::to_string(w.etcd().member(0).client_port) +
                           "/v3/kv/range",
                       &body),
              200)
        << body;
  }

  // The agents deliver over TLS with a token.
  const auto b = w.bundle(component_file("greeter-1.1.0.so"), "1.1.0", "1.0.0");
  RunResult r = w.publish(b, true);
  ASSERT_EQ(r.code, 0) << describe_run(r);
  ASSERT_TRUE(wait_until([&] { return w.hosts_serving("1.1.0") == w.host_count(); }, kDeadline))
      << w.logs();

  // A client authenticates once, then uses its token.
  fleet::EtcdClient client(client_options(w));
  ASSERT_TRUE(client.put("/graft/test/probe", "1").ok());
  std::optional<fleet::KeyValue> kv;
  ASSERT_TRUE(client.get("/graft/test/probe", &kv).ok());
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->value, "1");
  EXPECT_EQ(client.authentications(), 1u);

  // Setting root's password (to the same one) voids every token etcd handed
  // out to root: the client and the agents authenticate again.
  {
    const EtcdTls t = w.certificates()->etcd_tls();
    const std::string url = w.etcd().member(0).client_url();
    std::string answer;
    ASSERT_EQ(http_post(url + "/v3/auth/authenticate",
                        json{{"name", "root"}, {"password", FleetWorld::kRootPassword}}.dump(),
                        &answer, &t),
              200)
        << answer;
    const std::string token = json::parse(answer).value("token", std::string());
    ASSERT_EQ(http_post(url + "/v3/auth/user/changepw",
                        json{{"name", "root"}, {"password", FleetWorld::kRootPassword}}.dump(),
                        &answer, &t, token),
              200)
        << answer;
    EXPECT_NE(http_post(url + "/v3/kv/range", json{{"key", "YQ=="}}.dump(), &answer, &t, token),
              200)
        << "the old token still works: " << answer;
  }
  ASSERT_TRUE(client.get("/graft/test/probe", &kv).ok());
  EXPECT_EQ(client.authentications(), 2u);
  r = w.graftctl({"fleet", "revoke", "greeter", "1.1.0", "--key", w.secret_key().string(),
                  "--reason", "revoked through TLS and auth"});
  ASSERT_EQ(r.code, 0) << describe_run(r);
  ASSERT_TRUE(wait_until([&] { return w.hosts_serving("1.0.0") == w.host_count(); }, kDeadline))
      << w.logs();

  // A CA that did not sign etcd's certificate.
  {
    auto bad = client_options(w);
    bad.ca_file = w.certificates()->other_ca().string();
    fleet::EtcdClient c(bad);
    const auto st = c.put("/graft/test/probe", "2");
    EXPECT_EQ(st.kind, fleet::EtcdStatus::Kind::unavailable);
    EXPECT_NE(st.message.find("not signed by the CA in " + bad.ca_file), std::string::npos)
        << st.message;
  }
  // No client certificate, while etcd requires one.
  {
    auto bad = client_options(w);
    bad.cert_file.clear();
    bad.key_file.clear();
    fleet::EtcdClient c(bad);
    const auto st = c.put("/graft/test/probe", "2");
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message.find("client certificate"), std::string::npos) << st.message;
  }
  // A wrong password.
  {
    auto bad = client_options(w);
    bad.password = "not-the-password";
    fleet::EtcdClient c(bad);
    const auto st = c.put("/graft/test/probe", "2");
    EXPECT_EQ(st.kind, fleet::EtcdStatus::Kind::refused);
    EXPECT_NE(st.message.find("etcd authentication as 'root' failed"), std::string::npos)
        << st.message;
    EXPECT_NE(st.message.find("invalid user ID or password"), std::string::npos) << st.message;
  }
  // No user at all, while etcd's authentication is on.
  {
    auto bad = client_options(w);
    bad.username.clear();
    bad.password.clear();
    fleet::EtcdClient c(bad);
    const auto st = c.put("/graft/test/probe", "2");
    EXPECT_EQ(st.kind, fleet::EtcdStatus::Kind::refused);
    EXPECT_NE(st.message.find("etcd requires authentication"), std::string::npos) << st.message;
  }
  // Missing files and half-given pairs are refused before any request.
  {
    auto bad = client_options(w);
    bad.ca_file = (w.work() / "no-such-ca.pem").string();
    EXPECT_NE(fleet::check_tls_files(bad).find("etcd CA file '" + bad.ca_file + "' cannot be read"),
              std::string::npos);
    bad = client_options(w);
    bad.key_file.clear();
    EXPECT_NE(fleet::check_tls_files(bad).find("give both or neither"), std::string::npos);
  }
  // graftctl says the same.
  {
    const fs::path wrong = w.work() / "wrong-password";
    std::ofstream(wrong) << "not-the-password\n";
    std::vector<std::string> args = {GRAFTCTL_PATH, "fleet", "status", "--fleet", "test"};
    for (const auto& f : w.etcd_flags())
      args.push_back(f == w.password_file().string() ? wrong.string() : f);
    r = run_program(args);
    EXPECT_NE(r.code, 0) << describe_run(r);
    EXPECT_NE(r.err.find("etcd authentication as 'root' failed"), std::string::npos) << r.err;
    args = {GRAFTCTL_PATH, "fleet", "status", "--fleet", "test"};
    for (const auto& f : w.etcd_flags())
      args.push_back(f == w.certificates()->ca().string() ? w.certificates()->other_ca().string()
                                                          : f);
    r = run_program(args);
    EXPECT_NE(r.code, 0) << describe_run(r);
    EXPECT_NE(r.err.find("not signed by the CA in " + w.certificates()->other_ca().string()),
              std::string::npos)
        << r.err;
  }
  // And the agent refuses a configuration whose CA file or password file is
  // missing, or whose host_state belongs to no inbox.
  for (const auto& [line, error] : std::vector<std::pair<std::string, std::string>>{
           {"etcd_password_file = /nonexistent/password",
            "etcd_password_file '/nonexistent/password' cannot be read"},
           {"host_state = /var/lib/x", "the inbox " + w.machines()[0]->hosts[0]->inbox.string() +
                                           " already has a host_state"}}) {
    const fs::path conf = w.work() / "bad-agent-line.conf";
    std::ofstream(conf) << read_file(w.machines()[0]->config) << line << "\n";
    r = run_program({GRAFT_AGENT_PATH, "--config", conf.string()});
    EXPECT_EQ(r.code, 2) << describe_run(r);
    EXPECT_NE(r.err.find(error), std::string::npos) << r.err;
  }
  {
    const fs::path conf = w.work() / "orphan-state.conf";
    std::ofstream(conf) << "host_state = /var/lib/x\n" << read_file(w.machines()[0]->config);
    r = run_program({GRAFT_AGENT_PATH, "--config", conf.string()});
    EXPECT_EQ(r.code, 2) << describe_run(r);
    EXPECT_NE(r.err.find("line 1: host_state must follow the 'inbox' of its host"),
              std::string::npos)
        << r.err;
  }
  {
    const fs::path conf = w.work() / "bad-agent.conf";
    std::ofstream(conf) << read_file(w.machines()[0]->config)
                        << "etcd_ca = " << (w.work() / "no-such-ca.pem").string() << "\n";
    r = run_program({GRAFT_AGENT_PATH, "--config", conf.string()});
    EXPECT_EQ(r.code, 2) << describe_run(r);
    EXPECT_NE(
        r.err.find("etcd CA file '" + (w.work() / "no-such-ca.pem").string() + "' cannot be read"),
        std::string::npos)
        << r.err;
  }
}

}  // namespace
}  // namespace graft::testing
