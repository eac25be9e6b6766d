// hosts, status, top, install, rollback, commit, pending, approve, policy:
// the commands that look at or drive running hosts.
#include "bundle_manifest.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "host_selection.hpp"
#include "status_view.hpp"
#include "text_table.hpp"
#include "top_screen.hpp"

#include <graft/control_client.hpp>
#include <graft/host_directory.hpp>
#include <graft/status_board.hpp>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>

namespace graftctl {
namespace {

namespace fs = std::filesystem;
using graft::control::Command;
using graft::control::Request;
using nlohmann::json;

constexpr int kDefaultTimeoutMs = 30000;

struct CommonOptions {
  std::string run_dir;
  std::string host;
  bool json = false;
  bool all = false;
  int timeout_ms = kDefaultTimeoutMs;
  std::string mode;              // install, approve, rollback: --mode
  std::uint64_t request_id = 0;  // --request-id: retry a request (0: a new id)

  fs::path dir() const { return run_dir.empty() ? graft::default_run_dir() : fs::path(run_dir); }
};

void add_run_dir(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--run-dir", o.run_dir,
                  "where hosts put their control sockets (default: $GRAFT_RUN_DIR, else "
                  "$XDG_RUNTIME_DIR/graft, else /tmp/graft-UID)");
}

void add_host(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--host", o.host, "the host, by pid or name (may be left out when one runs)");
}

void add_json(CLI::App* cmd, CommonOptions& o) {
  cmd->add_flag("--json", o.json, "print JSON instead of a table");
}

void add_timeout(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--timeout", o.timeout_ms, "milliseconds to wait for each host's answer")
      ->check(CLI::Range(1, 600000))
      ->capture_default_str();
}

void add_mode(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--mode", o.mode,
                  "how to swap: automatic (default: carry the component's state when the old "
                  "version exports it and the new one imports it), quiesce (carry it or refuse), "
                  "immediate (never carry it)")
      ->check(CLI::IsMember({"automatic", "quiesce", "immediate"}));
}

void add_request_id(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--request-id", o.request_id,
                  "the request's id: give the id of a request whose outcome was unknown to get "
                  "its outcome (it is applied at most once); default: a new id")
      ->check(CLI::PositiveNumber);
}

// A new request id: random, never 0.
std::uint64_t new_request_id() {
  std::random_device rd;
  std::uint64_t id = 0;
  while (id == 0)
    id = (std::uint64_t{rd()} << 32) ^ rd();
  return id;
}

// --host H or --all (every running host `all_help` says), and the options
// every command that talks to hosts takes.
void add_host_or_all(CLI::App* cmd, CommonOptions& o, const std::string& all_help) {
  auto* host = cmd->add_option("--host", o.host, "the host, by pid or name");
  auto* all = cmd->add_flag("--all", o.all, all_help);
  host->excludes(all);
  add_run_dir(cmd, o);
  add_json(cmd, o);
  add_timeout(cmd, o);
}

int fail(int code, const std::string& message) {
  std::cerr << "graftctl: " << message << "\n";
  return code;
}

int exit_code_for(const std::string& kind) {
  namespace c = graft::control;
  if (kind == c::kKindRefused || kind == c::kKindDenied) return kExitRefused;
  if (kind == c::kKindNotFound) return kExitNotFound;
  if (kind == c::kKindBusy) return kExitNoAnswer;
  return kExitError;
}

// One host's answer to one request.
struct HostAnswer {
  int exit_code = kExitOk;
  json result;       // on success
  json error;        // on failure: kind, code, message
  std::string text;  // on failure: for people
};

HostAnswer ask(const graft::HostEntry& host, Request request, int timeout_ms) {
  HostAnswer a;
  namespace c = graft::control;
  if (c::is_change(request.command)) {
    if (request.id == 0) request.id = new_request_id();
    // The host must not start it once we stop waiting for the answer. On
    // CLOCK_MONOTONIC, which the host (same machine) shares and which
    // nobody can step back.
    request.deadline_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(
            (std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms))
                .time_since_epoch())
            .count());
  } else if (request.id == 0) {
    request.id = 1;
  }
  const auto r = c::call_host(host.socket, request, std::chrono::milliseconds(timeout_ms));
  if (r.failure != c::CallFailure::none) {
    a.exit_code = kExitNoAnswer;
    const bool may_have_run = c::is_change(request.command) && r.request_sent;
    a.error = {{"kind", may_have_run ? "outcome_unknown" : "no_answer"},
               {"code", std::string(c::to_string(r.failure))},
               {"message", r.detail},
               {"applied", may_have_run ? json("unknown") : json(false)},
               {"request_id", request.id}};
    if (may_have_run) {
      a.text = "outcome unknown, check status: the host got request " + std::to_string(request.id) +
               " but did not answer (" + r.detail +
               "); it may have applied it. 'graftctl status' shows what serves; the same command "
               "with --request-id " +
               std::to_string(request.id) + " gets its outcome without applying it twice";
    } else if (r.failure == c::CallFailure::connect_failed &&
               r.detail.find(std::strerror(EACCES)) != std::string::npos) {
      a.exit_code = kExitRefused;
      a.text = std::string(c::is_change(request.command) ? "not applied: " : "") +
               "permission denied on the host's socket (" + r.detail +
               "): the host runs as another user, and hosts of another user are not visible";
    } else if (c::is_change(request.command)) {
      a.text = "not applied: host not answering (" + std::string(c::to_string(r.failure)) +
               "): " + r.detail;
    } else {
      a.text = "host not answering (" + std::string(c::to_string(r.failure)) + "): " + r.detail;
    }
    return a;
  }
  if (!r.reply->ok) {
    a.exit_code = r.reply->kind == c::kKindExpired ? kExitNoAnswer : exit_code_for(r.reply->kind);
    a.error = {{"kind", r.reply->kind},
               {"code", r.reply->code},
               {"message", r.reply->message},
               {"applied", false}};
    a.text = (r.reply->kind == c::kKindExpired ? "expired, not applied: " : std::string()) +
             r.reply->message + " [" + r.reply->code + "]";
    return a;
  }
  a.result = json::parse(r.reply->result, nullptr, false);
  return a;
}

// Several hosts' answers: the first failure's exit code wins.
int combine(int so_far, int next) {
  return so_far != kExitOk ? so_far : next;
}

json answer_json(const graft::HostEntry& host, const HostAnswer& a) {
  json j = {{"pid", host.pid},
            {"name", host.snapshot ? host.snapshot->name : ""},
            {"ok", a.exit_code == kExitOk}};
  if (a.exit_code == kExitOk) {
    j["result"] = a.result;
  } else {
    j["error"] = a.error;
  }
  return j;
}

// A failed answer: "refused: ..." when the host said no; otherwise the
// words say whether the request was applied.
void print_failure(const graft::HostEntry& host, const HostAnswer& a) {
  const std::string kind = a.error.value("kind", "");
  const bool refused = kind != "no_answer" && kind != "outcome_unknown" && kind != "expired";
  std::cout << describe(host) << ": " << (refused ? "refused: " : "") << a.text << "\n";
}

// Sends `r` to each host in turn and reports: refusals are printed here,
// `on_ok(host, answer)` prints a success and returns any exit code it adds;
// with --json, one document with every host's answer.
template <class OnOk>
int ask_each(const std::vector<graft::HostEntry>& hosts, const Request& r, const CommonOptions& o,
             OnOk on_ok) {
  int code = kExitOk;
  json list = json::array();
  for (const auto& h : hosts) {
    const HostAnswer a = ask(h, r, o.timeout_ms);
    code = combine(code, a.exit_code);
    list.push_back(answer_json(h, a));
    if (o.json) continue;
    if (a.exit_code != kExitOk) {
      print_failure(h, a);
      continue;
    }
    code = combine(code, on_ok(h, a));
  }
  if (o.json) std::cout << json{{"results", list}}.dump(2) << "\n";
  return code;
}

std::string value_or_dash(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string() || it->get<std::string>().empty()) return "-";
  return it->get<std::string>();
}

// --- read commands ---------------------------------------------------------

int cmd_hosts(const CommonOptions& o) {
  const auto hosts = live_hosts(o.dir());
  if (o.json) {
    json list = json::array();
    for (const auto& h : hosts) {
      json j = {{"pid", h.pid}, {"socket", h.socket.string()}, {"board", h.board}};
      if (h.snapshot) {
        j["name"] = h.snapshot->name;
        j["started_unix_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   h.snapshot->started.time_since_epoch())
                                   .count();
        j["auto_install"] = h.snapshot->auto_install;
        j["components"] = h.snapshot->components.size();
        j["pending"] = h.snapshot->pending.size();
      } else {
        j["name"] = nullptr;
      }
      list.push_back(std::move(j));
    }
    std::cout << json{{"run_dir", o.dir().string()}, {"hosts", list}}.dump(2) << "\n";
    return kExitOk;
  }
  if (hosts.empty()) {
    std::cout << no_host_message(o.dir()) << "\n";
    return kExitOk;
  }
  TextTable table({"PID", "NAME", "UP", "COMPONENTS", "AUTO-INSTALL", "PENDING", "SOCKET"});
  table.numeric(0).numeric(3).numeric(5);
  for (const auto& h : hosts) {
    if (!h.snapshot) {
      table.add({std::to_string(h.pid), "(starting)", "-", "-", "-", "-", h.socket.string()});
      continue;
    }
    const auto& s = *h.snapshot;
    table.add({std::to_string(h.pid), s.name,
               format_duration(std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now() - s.started)),
               std::to_string(s.components.size()), s.auto_install ? "on" : "off",
               std::to_string(s.pending.size()), h.socket.string()});
  }
  table.print(std::cout);
  return kExitOk;
}

int cmd_status(const CommonOptions& o) {
  const HostSelection sel = select_hosts(o.dir(), o.host);
  if (sel.exit_code != 0) return fail(sel.exit_code, sel.error);
  if (o.json) {
    json list = json::array();
    for (const auto& h : sel.hosts) {
      if (h.snapshot) list.push_back(json::parse(graft::to_json(*h.snapshot)));
    }
    std::cout << json{{"hosts", list}}.dump(2) << "\n";
    return kExitOk;
  }
  if (sel.hosts.empty()) {
    std::cout << no_host_message(o.dir()) << "\n";
    return kExitOk;
  }
  bool first = true;
  for (const auto& h : sel.hosts) {
    if (!first) std::cout << "\n";
    first = false;
    print_host_status(std::cout, h);
  }
  return kExitOk;
}

int cmd_pending(const CommonOptions& o) {
  const HostSelection sel = select_hosts(o.dir(), o.host);
  if (sel.exit_code != 0) return fail(sel.exit_code, sel.error);
  json list = json::array();
  TextTable table({"HOST", "PID", "BUNDLE", "COMPONENT", "VERSION", "PATH"});
  table.numeric(1);
  for (const auto& h : sel.hosts) {
    if (!h.snapshot) continue;
    for (const auto& p : h.snapshot->pending) {
      list.push_back({{"pid", h.pid},
                      {"name", h.snapshot->name},
                      {"bundle", p.bundle},
                      {"component", p.component},
                      {"version", p.version},
                      {"path", p.path}});
      table.add(
          {h.snapshot->name, std::to_string(h.pid), p.bundle, p.component, p.version, p.path});
    }
  }
  if (o.json) {
    std::cout << json{{"pending", list}}.dump(2) << "\n";
  } else if (table.empty()) {
    std::cout << "no bundle is waiting for approval\n";
  } else {
    table.print(std::cout);
  }
  return kExitOk;
}

// --- commands that change a host --------------------------------------------

// "installed greeter 1.1.0 (was 1.0.0; quiesce: state carried)".
std::string describe_swap(const json& result, const std::string& verb) {
  std::string line;
  if (result.value("already_serving", false)) {
    return "already serving " + value_or_dash(result, "component") + " " +
           value_or_dash(result, "version") + " (the same build); nothing done";
  }
  line = verb + " " + value_or_dash(result, "component") + " " + value_or_dash(result, "version");
  if (verb == "committed") {
    const std::string released = value_or_dash(result, "released");
    return line + (released == "-" ? " (nothing was in probation)"
                                   : " (previous version " + released + " released)");
  }
  line += " (was " + value_or_dash(result, "from");
  const std::string mode = value_or_dash(result, "mode");
  if (mode == "quiesce") line += "; state carried";
  if (mode == "immediate") line += "; state not carried";
  line += ")";
  const std::string note = value_or_dash(result, "note");
  if (note != "-") line += ": " + note;
  return line;
}

void print_change(const graft::HostEntry& host, const HostAnswer& a, const std::string& verb) {
  if (a.exit_code != kExitOk) {
    print_failure(host, a);
    return;
  }
  std::cout << describe(host) << ": " << describe_swap(a.result, verb) << "\n";
}

int report(const std::vector<std::pair<graft::HostEntry, HostAnswer>>& answers, bool as_json,
           const std::string& verb) {
  int code = kExitOk;
  json list = json::array();
  for (const auto& [host, a] : answers) {
    code = combine(code, a.exit_code);
    list.push_back(answer_json(host, a));
    if (!as_json) print_change(host, a, verb);
  }
  if (as_json) std::cout << json{{"results", list}}.dump(2) << "\n";
  return code;
}

int cmd_install(const CommonOptions& o, const std::string& bundle_arg) {
  std::error_code ec;
  const fs::path bundle = fs::absolute(bundle_arg, ec);
  if (!fs::is_directory(bundle, ec)) {
    return fail(kExitNotFound, "no bundle folder at " + bundle_arg);
  }
  Request r;
  r.command = Command::install;
  r.bundle = bundle.string();
  r.mode = o.mode;
  r.id = o.request_id;
  std::string why;
  const auto component = bundle_component(bundle, &why);
  // The host queues the install with the component's other requests.
  if (component) r.component = *component;
  std::vector<std::pair<graft::HostEntry, HostAnswer>> answers;
  if (o.all) {
    if (!component) return fail(kExitRefused, why);
    const HostSelection sel = select_hosts(o.dir(), "");
    std::vector<graft::HostEntry> targets;
    for (const auto& h : sel.hosts) {
      if (!h.snapshot) continue;
      for (const auto& c : h.snapshot->components) {
        if (c.name == *component) {
          targets.push_back(h);
          break;
        }
      }
    }
    if (targets.empty()) {
      return fail(kExitNotFound, "no running host has component '" + *component + "'");
    }
    for (const auto& h : targets)
      answers.emplace_back(h, ask(h, r, o.timeout_ms));
  } else {
    const HostSelection sel = select_one_host(o.dir(), o.host);
    if (sel.exit_code != 0) return fail(sel.exit_code, sel.error);
    answers.emplace_back(sel.hosts[0], ask(sel.hosts[0], r, o.timeout_ms));
  }
  return report(answers, o.json, "installed");
}

int cmd_slot_change(const CommonOptions& o, Command command, const std::string& component) {
  const HostSelection sel = select_one_host(o.dir(), o.host);
  if (sel.exit_code != 0) return fail(sel.exit_code, sel.error);
  Request r;
  r.command = command;
  r.component = component;
  r.id = o.request_id;
  if (command == Command::rollback) r.mode = o.mode;
  std::vector<std::pair<graft::HostEntry, HostAnswer>> answers;
  answers.emplace_back(sel.hosts[0], ask(sel.hosts[0], r, o.timeout_ms));
  return report(answers, o.json, command == Command::rollback ? "rolled back" : "committed");
}

bool names_pending(const graft::BoardPending& p, const std::string& arg) {
  std::error_code ec;
  return p.bundle == arg || p.path == arg || fs::path(arg).filename() == p.bundle ||
         fs::absolute(arg, ec).lexically_normal() == fs::path(p.path).lexically_normal();
}

int cmd_approve(const CommonOptions& o, const std::string& bundle) {
  if (o.all == !bundle.empty()) return fail(kExitUsage, "approve takes a BUNDLE or --all");
  const HostSelection sel = select_hosts(o.dir(), o.host);
  if (sel.exit_code != 0) return fail(sel.exit_code, sel.error);
  Request r;
  r.command = Command::approve;
  r.all = o.all;
  r.mode = o.mode;
  r.id = o.request_id;
  std::vector<graft::HostEntry> targets;
  for (const auto& h : sel.hosts) {
    if (!h.snapshot) continue;
    for (const auto& p : h.snapshot->pending) {
      if (o.all || names_pending(p, bundle)) {
        if (!o.all) r.bundle = p.bundle;
        targets.push_back(h);
        break;
      }
    }
  }
  if (!o.all && o.host.empty() && targets.size() > 1) {
    return fail(kExitUsage, std::to_string(targets.size()) + " hosts hold a pending bundle '" +
                                bundle + "': " + host_list(targets) +
                                "; choose one with --host PID|NAME");
  }
  if (targets.empty()) {
    if (o.all) {
      std::cout << "no bundle is waiting for approval\n";
      return kExitOk;
    }
    return fail(kExitNotFound, "no host holds a pending bundle '" + bundle +
                                   "' (run 'graftctl pending' to list them)");
  }
  return ask_each(targets, r, o, [](const graft::HostEntry& h, const HostAnswer& a) {
    int code = kExitOk;
    for (const auto& item : a.result.value("approved", json::array())) {
      if (item.contains("error")) {
        code = kExitRefused;
        std::cout << describe(h) << ": refused " << value_or_dash(item, "bundle") << ": "
                  << item["error"].value("message", "") << "\n";
      } else {
        std::cout << describe(h) << ": " << describe_swap(item, "installed") << "\n";
      }
    }
    return code;
  });
}

int cmd_policy(const CommonOptions& o, const std::string& value) {
  if (value.empty()) {
    const HostSelection sel = select_hosts(o.dir(), o.host);
    if (sel.exit_code != 0) return fail(sel.exit_code, sel.error);
    json list = json::array();
    TextTable table({"HOST", "PID", "AUTO-INSTALL", "INBOX"});
    table.numeric(1);
    for (const auto& h : sel.hosts) {
      if (!h.snapshot) continue;
      list.push_back({{"pid", h.pid},
                      {"name", h.snapshot->name},
                      {"auto_install", h.snapshot->auto_install},
                      {"inbox", h.snapshot->has_inbox}});
      table.add({h.snapshot->name, std::to_string(h.pid), h.snapshot->auto_install ? "on" : "off",
                 h.snapshot->has_inbox ? "yes" : "no"});
    }
    if (o.json) {
      std::cout << json{{"hosts", list}}.dump(2) << "\n";
    } else if (table.empty()) {
      std::cout << no_host_message(o.dir()) << "\n";
    } else {
      table.print(std::cout);
    }
    return kExitOk;
  }
  const HostSelection sel = o.all ? select_hosts(o.dir(), "") : select_one_host(o.dir(), o.host);
  if (sel.exit_code != 0) return fail(sel.exit_code, sel.error);
  if (sel.hosts.empty()) return fail(kExitNotFound, no_host_message(o.dir()));
  Request r;
  r.command = Command::policy;
  r.auto_install = value == "on";
  return ask_each(sel.hosts, r, o, [](const graft::HostEntry& h, const HostAnswer& a) {
    std::cout << describe(h) << ": auto-install "
              << (a.result.value("auto_install", false) ? "on" : "off") << "\n";
    return kExitOk;
  });
}

}  // namespace

void add_control_commands(CLI::App& app, Context& ctx) {
  {
    auto o = std::make_shared<CommonOptions>();
    auto* cmd = app.add_subcommand("hosts", "list the graft hosts running for this user");
    add_run_dir(cmd, *o);
    add_json(cmd, *o);
    cmd->callback([o, &ctx] { ctx.exit_code = cmd_hosts(*o); });
  }
  {
    auto o = std::make_shared<CommonOptions>();
    auto* cmd = app.add_subcommand(
        "status",
        "show hosts' components, versions, call counts and pending bundles (from "
        "their status boards; the hosts are not asked)");
    add_host(cmd, *o);
    add_run_dir(cmd, *o);
    add_json(cmd, *o);
    cmd->callback([o, &ctx] { ctx.exit_code = cmd_status(*o); });
  }
  {
    auto o = std::make_shared<TopOptions>();
    auto c = std::make_shared<CommonOptions>();
    auto interval_ms = std::make_shared<int>(1000);
    auto* cmd = app.add_subcommand("top",
                                   "watch the hosts' status boards, refreshed every second "
                                   "(q or Ctrl-C quits)");
    add_host(cmd, *c);
    add_run_dir(cmd, *c);
    add_json(cmd, *c);
    cmd->add_option("--iterations", o->iterations, "stop after this many refreshes (0: never)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--interval", *interval_ms, "milliseconds between refreshes")
        ->check(CLI::Range(10, 3600000))
        ->capture_default_str();
    cmd->callback([o, c, interval_ms, &ctx] {
      o->run_dir = c->dir();
      o->host = c->host;
      o->json = c->json;
      o->interval = std::chrono::milliseconds(*interval_ms);
      ctx.exit_code = run_top(*o);
    });
  }
  {
    auto o = std::make_shared<CommonOptions>();
    auto bundle = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("install", "install a signed bundle on a running host, live");
    cmd->add_option("BUNDLE", *bundle, "the bundle folder")->required();
    add_host_or_all(cmd, *o, "every running host that has the component");
    add_mode(cmd, *o);
    add_request_id(cmd, *o);
    cmd->callback([o, bundle, &ctx] { ctx.exit_code = cmd_install(*o, *bundle); });
  }
  for (const auto& [name, command, help] :
       {std::tuple{"rollback", Command::rollback,
                   "return a component to its previous version, live"},
        std::tuple{"commit", Command::commit,
                   "end a component's probation now and release its previous version"}}) {
    auto o = std::make_shared<CommonOptions>();
    auto component = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand(name, help);
    cmd->add_option("COMPONENT", *component, "the component's name")->required();
    add_host(cmd, *o);
    add_run_dir(cmd, *o);
    add_json(cmd, *o);
    add_timeout(cmd, *o);
    add_request_id(cmd, *o);
    if (command == Command::rollback) add_mode(cmd, *o);
    const Command which = command;
    cmd->callback(
        [o, component, which, &ctx] { ctx.exit_code = cmd_slot_change(*o, which, *component); });
  }
  {
    auto o = std::make_shared<CommonOptions>();
    auto* cmd = app.add_subcommand("pending", "list verified bundles waiting for approval");
    add_host(cmd, *o);
    add_run_dir(cmd, *o);
    add_json(cmd, *o);
    cmd->callback([o, &ctx] { ctx.exit_code = cmd_pending(*o); });
  }
  {
    auto o = std::make_shared<CommonOptions>();
    auto bundle = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("approve", "install a pending bundle (or every one with --all)");
    auto* b = cmd->add_option("BUNDLE", *bundle, "the pending bundle: its name or path");
    auto* all = cmd->add_flag("--all", o->all, "every pending bundle");
    b->excludes(all);
    add_host(cmd, *o);
    add_run_dir(cmd, *o);
    add_json(cmd, *o);
    add_timeout(cmd, *o);
    add_mode(cmd, *o);
    add_request_id(cmd, *o);
    cmd->callback([o, bundle, &ctx] { ctx.exit_code = cmd_approve(*o, *bundle); });
  }
  {
    auto o = std::make_shared<CommonOptions>();
    auto value = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("policy", "show or set a host's install policy");
    cmd->require_subcommand(1);
    auto* ai = cmd->add_subcommand(
        "auto-install",
        "on: install verified inbox bundles at once; off: hold them for 'graftctl approve'. "
        "Without on/off, show the policy.");
    ai->add_option("VALUE", *value, "on or off")->check(CLI::IsMember({"on", "off"}));
    add_host_or_all(ai, *o, "every running host");
    ai->callback([o, value, &ctx] { ctx.exit_code = cmd_policy(*o, *value); });
  }
}

}  // namespace graftctl
