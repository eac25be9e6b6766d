// graftctl fleet ...: publish releases to etcd and the object store, run
// staged rollouts, and show the fleet as its agents report it
// (docs/fleet.md).
#include "commands.hpp"
#include "exit_codes.hpp"
#include "text_table.hpp"

#include "desired_state.hpp"
#include "etcd_client.hpp"
#include "fleet_keys.hpp"
#include "fleet_view.hpp"
#include "object_fetch.hpp"
#include "object_upload.hpp"
#include "release_record.hpp"

#include <graft/manifest.hpp>
#include <graft/revocation.hpp>
#include <graft/signing_key.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace graftctl {
namespace {

namespace fs = std::filesystem;
using graft::fleet::DesiredState;
using graft::fleet::EtcdClient;
using graft::fleet::FleetKeys;
using nlohmann::json;

struct FleetArgs {
  std::string fleet;
  std::string etcd;
  std::string etcd_ca, etcd_cert, etcd_key, etcd_user, etcd_password_file;
  bool json = false;
};

int fail(const std::string& command, int code, const std::string& message) {
  std::cerr << "graftctl fleet " << command << ": " << message << "\n";
  return code;
}

void add_etcd_security(CLI::App* cmd, FleetArgs& a);

void add_common(CLI::App* cmd, FleetArgs& a) {
  cmd->add_option("--fleet", a.fleet, "the fleet's name")->required();
  cmd->add_option("--etcd", a.etcd,
                  "etcd endpoints, comma-separated (default: $GRAFT_ETCD or "
                  "http://127.0.0.1:2379)");
  add_etcd_security(cmd, a);
}

// TLS and authentication towards etcd (docs/fleet.md).
void add_etcd_security(CLI::App* cmd, FleetArgs& a) {
  cmd->add_option("--etcd-ca", a.etcd_ca, "https: the CA file of etcd's certificate");
  cmd->add_option("--etcd-cert", a.etcd_cert, "https: a client certificate (with --etcd-key)");
  cmd->add_option("--etcd-key", a.etcd_key, "https: the client certificate's key");
  cmd->add_option("--etcd-user", a.etcd_user,
                  "etcd authentication: the user (with --etcd-password-file)");
  cmd->add_option("--etcd-password-file", a.etcd_password_file,
                  "etcd authentication: a file whose first line is the password");
}

std::unique_ptr<EtcdClient> connect(const FleetArgs& a) {
  std::string list = a.etcd;
  if (list.empty()) {
    const char* env = std::getenv("GRAFT_ETCD");
    list = env != nullptr ? env : "http://127.0.0.1:2379";
  }
  graft::fleet::EtcdOptions o;
  std::stringstream in(list);
  for (std::string e; std::getline(in, e, ',');) {
    if (!e.empty()) o.endpoints.push_back(e);
  }
  o.ca_file = a.etcd_ca;
  o.cert_file = a.etcd_cert;
  o.key_file = a.etcd_key;
  o.username = a.etcd_user;
  if (!a.etcd_password_file.empty()) {
    std::ifstream pw(a.etcd_password_file);
    if (!pw || !std::getline(pw, o.password) || o.password.empty()) {
      throw std::invalid_argument("--etcd-password-file '" + a.etcd_password_file +
                                  "' cannot be read or is empty");
    }
    if (o.password.back() == '\r') o.password.pop_back();
  }
  if (const std::string bad = graft::fleet::check_tls_files(o); !bad.empty()) {
    throw std::invalid_argument(bad);
  }
  return std::make_unique<EtcdClient>(o);
}

bool read_file(const fs::path& file, std::size_t cap, std::string* out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  std::string s(cap + 1, '\0');
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<std::size_t>(in.gcount()));
  if (s.size() > cap) return false;
  *out = std::move(s);
  return true;
}

// "10m", "30s", "2h", "0": seconds.
bool parse_duration(const std::string& text, std::int64_t* seconds) {
  if (text.empty()) return false;
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (...) {
    return false;
  }
  const std::string unit = text.substr(used);
  const long long mult = unit.empty() || unit == "s" ? 1
                         : unit == "m"               ? 60
                         : unit == "h"               ? 3600
                                                     : 0;
  if (mult == 0 || n < 0) return false;
  *seconds = n * mult;
  return true;
}

int exit_for(const graft::fleet::EtcdStatus& st) {
  return st.kind == graft::fleet::EtcdStatus::Kind::unavailable ? kExitNoAnswer : kExitError;
}

// --- publish -------------------------------------------------------------

void add_publish(CLI::App& fleet, Context& ctx) {
  struct Args : FleetArgs {
    std::string bundle, objects, objects_ca;
    bool deploy = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = fleet.add_subcommand(
      "publish", "Publish a signed bundle: its record to etcd, its object to the object store");
  cmd->add_option("BUNDLE", a->bundle, "bundle folder (from graftctl bundle)")->required();
  add_common(cmd, *a);
  cmd->add_option("--objects", a->objects,
                  "the object store: a folder (served over HTTP to the agents), or an "
                  "http(s):// URL that takes PUT (e.g. nginx with dav_methods PUT)")
      ->required();
  cmd->add_option("--objects-ca", a->objects_ca,
                  "https object store: the CA file of its certificate");
  cmd->add_flag("--deploy", a->deploy,
                "also make it the fleet's target at once, every machine in one ring "
                "(otherwise start a staged rollout with 'fleet rollout start')");
  cmd->callback([a, &ctx] {
    const fs::path dir(a->bundle);
    graft::fleet::ReleaseRecord record;
    if (!read_file(dir / "manifest.json", 64 * 1024, &record.manifest_text) ||
        !read_file(dir / "manifest.sig", 1024, &record.signature)) {
      ctx.exit_code =
          fail("publish", kExitNotFound, dir.string() + ": needs manifest.json and manifest.sig");
      return;
    }
    graft::Manifest m;
    if (auto s = graft::Manifest::parse(record.manifest_text, &m); !s) {
      ctx.exit_code = fail("publish", kExitRefused, dir.string() + ": " + s.message());
      return;
    }
    if (auto bad = graft::fleet::check_name("component", m.component); !bad.empty()) {
      ctx.exit_code = fail("publish", kExitRefused, bad);
      return;
    }
    // The full object always (a machine without the base needs it), and the
    // delta beside it when the bundle carries one: each checked against the
    // manifest, then stored by its hash.
    std::vector<std::pair<fs::path, std::string>> uploads;  // file, sha256
    std::uint64_t size = 0;
    if (!fs::exists(dir / m.file)) {
      ctx.exit_code = fail("publish", kExitRefused,
                           dir.string() + ": carries no full object '" + m.file +
                               "' (a delta-only bundle): machines without the delta's base "
                               "need the full object; bundle without --delta-only");
      return;
    }
    const std::string sha = graft::fleet::sha256_of_file(dir / m.file, &size);
    if (sha != m.sha256 || size != m.size) {
      ctx.exit_code = fail("publish", kExitRefused,
                           dir.string() + ": '" + m.file + "' does not match its manifest");
      return;
    }
    uploads.emplace_back(dir / m.file, sha);
    if (m.delta) {
      std::uint64_t delta_size = 0;
      const std::string delta_sha = graft::fleet::sha256_of_file(dir / m.delta->file, &delta_size);
      if (delta_sha != m.delta->sha256 || delta_size != m.delta->size) {
        ctx.exit_code = fail("publish", kExitRefused,
                             dir.string() + ": delta '" + m.delta->file +
                                 "' is missing or does not match its manifest");
        return;
      }
      uploads.emplace_back(dir / m.delta->file, delta_sha);
    }
    if (graft::fleet::is_object_store_url(a->objects)) {
      // Each object by its hash, with HTTP PUT.
      graft::fleet::ObjectUploadOptions uo;
      uo.base_url = a->objects;
      uo.ca_file = a->objects_ca;
      for (const auto& [file, hash] : uploads) {
        if (auto st = graft::fleet::upload_object(uo, file, hash); !st) {
          ctx.exit_code = fail("publish", kExitError, "object store: " + st.message());
          return;
        }
      }
    } else {
      // Each object by its hash: written under a temporary name, then renamed.
      const fs::path store(a->objects);
      std::error_code ec;
      fs::create_directories(store, ec);
      for (const auto& [file, hash] : uploads) {
        if (ec) break;
        const fs::path tmp = store / ("." + hash + ".tmp");
        fs::copy_file(file, tmp, fs::copy_options::overwrite_existing, ec);
        if (!ec)
          fs::permissions(tmp,
                          fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read,
                          ec);
        if (!ec) fs::rename(tmp, store / hash, ec);
      }
      if (ec) {
        ctx.exit_code =
            fail("publish", kExitError, "object store " + store.string() + ": " + ec.message());
        return;
      }
    }
    const FleetKeys keys(a->fleet);
    auto etcd = connect(*a);
    const std::string key = keys.release(m.component, m.version);
    std::optional<graft::fleet::KeyValue> existing;
    if (auto st = etcd->get(key, &existing); !st.ok()) {
      ctx.exit_code = fail("publish", exit_for(st), st.message);
      return;
    }
    if (existing && existing->value != record.to_json()) {
      ctx.exit_code = fail("publish", kExitRefused,
                           m.component + " " + m.version.to_string() +
                               " is already published with another manifest (" + key +
                               "); a release is never replaced, publish a new response");
      return;
    }
    if (!existing) {
      bool done = false;
      if (auto st = etcd->put_if_unchanged(key, 0, record.to_json(), &done); !st.ok() || !done) {
        ctx.exit_code = fail("publish", st.ok() ? kExitRefused : exit_for(st),
                             st.ok() ? "published concurrently by someone else" : st.message);
        return;
      }
    }
    std::cout << "published " << m.component << " " << m.version.to_string() << " (" << m.sha256
              << ", " << m.size << " bytes) to fleet " << a->fleet << "\n";
    if (m.delta) {
      std::cout << "delta " << m.delta->sha256 << " (" << m.delta->size
                << " bytes) rebuilds it from base " << m.delta->base_sha256 << "\n";
    }
    if (a->deploy) {
      DesiredState d;
      d.component = m.component;
      d.version = m.version;
      d.started = std::time(nullptr);
      d.note = "deployed to every ring at once";
      if (auto st = etcd->put(keys.desired(m.component), d.to_json()); !st.ok()) {
        ctx.exit_code = fail("publish", exit_for(st), st.message);
        return;
      }
      std::cout << "target of fleet " << a->fleet << ": " << m.component << " "
                << m.version.to_string() << " on every machine\n";
    }
  });
}

// --- rollout ---------------------------------------------------------------

// Reads the component's desired state; changes it with `change` under a
// compare-and-swap (retried when the controller wrote meanwhile).
int update_rollout(const FleetArgs& a, const std::string& component, const char* command,
                   const std::function<std::string(DesiredState&)>& change) {
  const FleetKeys keys(a.fleet);
  auto etcd = connect(a);
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::optional<graft::fleet::KeyValue> kv;
    if (auto st = etcd->get(keys.desired(component), &kv); !st.ok()) {
      return fail(command, exit_for(st), st.message);
    }
    if (!kv) return fail(command, kExitNotFound, "no rollout of " + component);
    DesiredState d;
    if (auto s = DesiredState::parse(kv->value, &d); !s) {
      return fail(command, kExitError, s.message());
    }
    const std::string refusal = change(d);
    if (!refusal.empty()) return fail(command, kExitRefused, refusal);
    bool done = false;
    if (auto st = etcd->put_if_unchanged(kv->key, kv->mod_revision, d.to_json(), &done); !st.ok()) {
      return fail(command, exit_for(st), st.message);
    }
    if (done) {
      std::cout << component << " " << d.version.to_string() << ": "
                << graft::fleet::to_string(d.state) << "\n";
      return kExitOk;
    }
  }
  return fail(command, kExitError, "the rollout kept changing; try again");
}

void add_rollout(CLI::App& fleet, Context& ctx) {
  CLI::App* rollout = fleet.add_subcommand("rollout", "Staged rollouts, ring by ring");
  rollout->require_subcommand(1);

  struct StartArgs : FleetArgs {
    std::string component, version, rings = "canary:1%,early:10%,broad:100%", bake = "10m";
    int max_rollbacks = 0;
    std::string max_error_rate;
  };
  auto s = std::make_shared<StartArgs>();
  CLI::App* start = rollout->add_subcommand("start", "Start rolling a published version out");
  start->add_option("COMPONENT", s->component)->required();
  start->add_option("VERSION", s->version)->required();
  add_common(start, *s);
  start->add_option("--rings", s->rings,
                    "cumulative rings, NAME:PERCENT% (default " + s->rings + ")");
  start->add_option("--bake", s->bake,
                    "how long a ring stays healthy before the next (10m, 30s, 0)");
  start->add_option("--max-rollbacks", s->max_rollbacks,
                    "rollbacks tolerated before the rollout halts itself (default 0)");
  start->add_option("--max-error-rate", s->max_error_rate,
                    "halt when a host serving the version errs on more than this share of its "
                    "calls (5%, 0.5% or 0.05; judged after 50 calls; default: no limit)");
  start->callback([s, &ctx] {
    DesiredState d;
    d.component = s->component;
    std::string why;
    const auto v = graft::Version::parse(s->version, &why);
    if (!v) {
      ctx.exit_code = fail("rollout start", kExitUsage, why);
      return;
    }
    d.version = *v;
    if (auto st = graft::fleet::parse_rings(s->rings, &d.rings); !st) {
      ctx.exit_code = fail("rollout start", kExitUsage, st.message());
      return;
    }
    if (!parse_duration(s->bake, &d.bake_seconds)) {
      ctx.exit_code =
          fail("rollout start", kExitUsage, "--bake '" + s->bake + "' is not 10m, 30s, 1h or 0");
      return;
    }
    d.max_rollbacks = s->max_rollbacks;
    if (!s->max_error_rate.empty()) {
      if (auto st = graft::fleet::parse_error_rate(s->max_error_rate, &d.max_error_rate); !st) {
        ctx.exit_code = fail("rollout start", kExitUsage, "--max-error-rate: " + st.message());
        return;
      }
    }
    d.started = std::time(nullptr);
    d.note = "started";
    const FleetKeys keys(s->fleet);
    auto etcd = connect(*s);
    std::optional<graft::fleet::KeyValue> release;
    if (auto st = etcd->get(keys.release(d.component, d.version), &release); !st.ok()) {
      ctx.exit_code = fail("rollout start", exit_for(st), st.message);
      return;
    }
    if (!release) {
      ctx.exit_code = fail(
          "rollout start", kExitNotFound,
          d.component + " " + d.version.to_string() + " is not published in fleet " + s->fleet);
      return;
    }
    if (auto st = etcd->put(keys.desired(d.component), d.to_json()); !st.ok()) {
      ctx.exit_code = fail("rollout start", exit_for(st), st.message);
      return;
    }
    std::string limits = ", halts past " + std::to_string(d.max_rollbacks) + " rollback(s)";
    if (d.max_error_rate >= 0) {
      char rate[32];
      std::snprintf(rate, sizeof rate, "%g%%", 100.0 * d.max_error_rate);
      limits += std::string(" or an error rate over ") + rate;
    }
    std::cout << "rollout of " << d.component << " " << d.version.to_string()
              << " started: " << graft::fleet::rings_to_string(d.rings) << ", bake "
              << d.bake_seconds << " s" << limits << "\n";
  });

  struct ChangeArgs : FleetArgs {
    std::string component;
  };
  const auto add_change = [&](const char* name, const char* help,
                              std::function<std::string(DesiredState&)> change) {
    auto c = std::make_shared<ChangeArgs>();
    CLI::App* cmd = rollout->add_subcommand(name, help);
    cmd->add_option("COMPONENT", c->component)->required();
    add_common(cmd, *c);
    cmd->callback([c, change, name, &ctx] {
      ctx.exit_code = update_rollout(*c, c->component, name, change);
    });
  };
  add_change("pause", "Stop promoting (hosts keep what they have)", [](DesiredState& d) {
    if (d.state != graft::fleet::RolloutState::rolling) {
      return "the rollout is " + graft::fleet::to_string(d.state) + ", not rolling";
    }
    d.state = graft::fleet::RolloutState::paused;
    d.note = "paused by an operator";
    return std::string();
  });
  add_change("resume", "Continue a paused or halted rollout", [](DesiredState& d) {
    if (d.state != graft::fleet::RolloutState::paused &&
        d.state != graft::fleet::RolloutState::halted) {
      return "the rollout is " + graft::fleet::to_string(d.state) + ", not paused or halted";
    }
    d.state = graft::fleet::RolloutState::rolling;
    d.ring_healthy_since = 0;
    d.halted_by.clear();
    d.note = "resumed by an operator";
    return std::string();
  });
  add_change("abort", "Stop the rollout; no further machine gets the version", [](DesiredState& d) {
    d.state = graft::fleet::RolloutState::aborted;
    d.note = "aborted by an operator";
    return std::string();
  });
}

// --- revocations -----------------------------------------------------------

struct RevokeArgs : FleetArgs {
  std::string component, version, key, reason, out;
};

// The signed revocation, or an exit code.
int make_revocation(const RevokeArgs& a, const char* command, std::string* text,
                    std::string* signature, graft::Revocation* r) {
  std::string why;
  const auto v = graft::Version::parse(a.version, &why);
  if (!v) return fail(command, kExitUsage, why);
  if (auto bad = graft::fleet::check_name("component", a.component); !bad.empty()) {
    return fail(command, kExitUsage, bad);
  }
  graft::SecretKey key;
  if (auto s = graft::read_secret_key(a.key, &key); !s) {
    return fail(command, kExitNotFound, s.message());
  }
  r->component = a.component;
  r->version = *v;
  r->reason = a.reason;
  r->created = std::time(nullptr);
  if (auto s = graft::sign_revocation(*r, key, text, signature); !s) {
    return fail(command, kExitError, s.message());
  }
  return kExitOk;
}

void add_revoke(CLI::App& fleet, Context& ctx) {
  auto a = std::make_shared<RevokeArgs>();
  CLI::App* cmd = fleet.add_subcommand(
      "revoke", "Withdraw a version everywhere: hosts serving it roll back and refuse it");
  cmd->add_option("COMPONENT", a->component)->required();
  cmd->add_option("VERSION", a->version)->required();
  cmd->add_option("--key", a->key, "the secret key (one the hosts trust)")->required();
  cmd->add_option("--reason", a->reason, "why, shown in every host's log and the fleet view")
      ->required();
  cmd->add_option("--fleet", a->fleet, "the fleet's name (publishes to etcd)");
  cmd->add_option("--etcd", a->etcd, "etcd endpoints, comma-separated");
  add_etcd_security(cmd, *a);
  cmd->add_option("--out", a->out,
                  "write the signed revocation folder here instead (drop it into a host's inbox; "
                  "no etcd needed)");
  cmd->callback([a, &ctx] {
    std::string text, signature;
    graft::Revocation r;
    if (int rc = make_revocation(*a, "revoke", &text, &signature, &r); rc != kExitOk) {
      ctx.exit_code = rc;
      return;
    }
    if (!a->out.empty()) {
      graft::SecretKey key;
      (void)graft::read_secret_key(a->key, &key);
      if (auto s = graft::write_revocation(a->out, r, key); !s) {
        ctx.exit_code = fail("revoke", kExitError, s.message());
        return;
      }
      std::cout << "revocation of " << r.component << " " << r.version.to_string() << " written to "
                << a->out << " (move it into a host's inbox)\n";
      return;
    }
    if (a->fleet.empty()) {
      ctx.exit_code = fail("revoke", kExitUsage, "give --fleet (publish) or --out (a folder)");
      return;
    }
    const FleetKeys keys(a->fleet);
    auto etcd = connect(*a);
    const json record = {{"revocation", text}, {"signature", signature}};
    if (auto st = etcd->put(keys.revocation(r.component, r.version), record.dump()); !st.ok()) {
      ctx.exit_code = fail("revoke", exit_for(st), st.message);
      return;
    }
    std::cout << "revoked " << r.component << " " << r.version.to_string() << " in fleet "
              << a->fleet << ": " << r.reason << "\n";
  });
}

// --- status ------------------------------------------------------------------

void add_status(CLI::App& fleet, Context& ctx) {
  struct Args : FleetArgs {
    std::string component;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = fleet.add_subcommand("status", "The fleet per rollout ring, as agents report it");
  cmd->add_option("COMPONENT", a->component, "only this component's rollout");
  add_common(cmd, *a);
  cmd->add_flag("--json", a->json, "print JSON");
  cmd->callback([a, &ctx] {
    const FleetKeys keys(a->fleet);
    auto etcd = connect(*a);
    std::vector<graft::fleet::KeyValue> desired, reports;
    if (auto st = etcd->range(keys.desired(), graft::fleet::prefix_end(keys.desired()), &desired);
        !st.ok()) {
      ctx.exit_code = fail("status", exit_for(st), st.message);
      return;
    }
    if (auto st = etcd->range(keys.machines(), graft::fleet::prefix_end(keys.machines()), &reports);
        !st.ok()) {
      ctx.exit_code = fail("status", exit_for(st), st.message);
      return;
    }
    std::vector<graft::fleet::KeyValue> known;
    if (auto st = etcd->range(keys.known(), graft::fleet::prefix_end(keys.known()), &known);
        !st.ok()) {
      ctx.exit_code = fail("status", exit_for(st), st.message);
      return;
    }
    json out = json::array();
    bool found = false;
    for (const auto& kv : desired) {
      DesiredState d;
      if (!DesiredState::parse(kv.value, &d)) continue;
      if (!a->component.empty() && d.component != a->component) continue;
      found = true;
      const auto rings = graft::fleet::view_rings(d, reports, known);
      json jr = json::array();
      for (std::size_t i = 0; i < rings.size(); ++i) {
        const auto& r = rings[i];
        jr.push_back({{"ring", r.name},
                      {"reached", i < d.active && d.state != graft::fleet::RolloutState::aborted},
                      {"machines", r.machines},
                      {"hosts", r.hosts},
                      {"on_target", r.on_target},
                      {"probation", r.probation},
                      {"pending", r.pending},
                      {"rolled_back", r.rolled_back},
                      {"other", r.other},
                      {"unreachable", r.unreachable},
                      {"halting", r.halting},
                      {"erring", r.erring},
                      {"refusals", r.refusals},
                      {"fetched_delta_bytes", r.delta_bytes},
                      {"fetched_full_bytes", r.full_bytes}});
      }
      out.push_back({{"component", d.component},
                     {"version", d.version.to_string()},
                     {"state", graft::fleet::to_string(d.state)},
                     {"active_rings", d.active},
                     {"bake_seconds", d.bake_seconds},
                     {"halted_by", d.halted_by},
                     {"note", d.note},
                     {"rings", jr}});
    }
    if (!a->component.empty() && !found) {
      ctx.exit_code = fail("status", kExitNotFound, "no rollout of " + a->component);
      return;
    }
    if (a->json) {
      std::cout << out.dump(2) << "\n";
      return;
    }
    for (const auto& r : out) {
      std::cout << r["component"].get<std::string>() << " " << r["version"].get<std::string>()
                << ": " << r["state"].get<std::string>() << " (" << r["note"].get<std::string>()
                << ")\n";
      for (const auto& h : r["halted_by"])
        std::cout << "  halted by " << h.get<std::string>() << "\n";
      TextTable t({"RING", "REACHED", "MACHINES", "HOSTS", "ON TARGET", "PROBATION", "PENDING",
                   "ROLLED BACK", "OTHER", "UNREACHABLE"});
      for (const auto& ring : r["rings"]) {
        t.add(
            {ring["ring"].get<std::string>(), ring["reached"].get<bool>() ? "yes" : "no",
             std::to_string(ring["machines"].get<int>()), std::to_string(ring["hosts"].get<int>()),
             std::to_string(ring["on_target"].get<int>()),
             std::to_string(ring["probation"].get<int>()),
             std::to_string(ring["pending"].get<int>()),
             std::to_string(ring["rolled_back"].get<int>()),
             std::to_string(ring["other"].get<int>()), std::to_string(ring["unreachable"].size())});
      }
      t.print(std::cout);
      for (const auto& ring : r["rings"]) {
        const auto delta = ring["fetched_delta_bytes"].get<std::uint64_t>();
        const auto full = ring["fetched_full_bytes"].get<std::uint64_t>();
        if (delta + full != 0) {
          std::cout << "  " << ring["ring"].get<std::string>() << " fetched " << delta
                    << " bytes as deltas, " << full << " as full objects\n";
        }
        for (const auto& m : ring["unreachable"])
          std::cout << "  unreachable: " << m.get<std::string>()
                    << " (no report: its lease ran out)\n";
        for (const auto& h : ring["halting"])
          std::cout << "  rolled back on " << h.get<std::string>() << "\n";
        for (const auto& h : ring["erring"])
          std::cout << "  error rate over the limit: " << h.get<std::string>() << "\n";
        for (const auto& f : ring["refusals"])
          std::cout << "  refused: " << f.get<std::string>() << "\n";
      }
    }
  });
}

}  // namespace

void add_fleet_commands(CLI::App& app, Context& ctx) {
  CLI::App* fleet = app.add_subcommand("fleet", "Publish and roll out releases across machines");
  fleet->require_subcommand(1);
  add_publish(*fleet, ctx);
  add_rollout(*fleet, ctx);
  add_status(*fleet, ctx);
  add_revoke(*fleet, ctx);
}

}  // namespace graftctl
