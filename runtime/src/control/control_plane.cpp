#include <graft/control_plane.hpp>
#include <graft/host_directory.hpp>
#include <graft/installer.hpp>
#include <graft/revocation.hpp>
#include <graft/runtime.hpp>
#include <graft/status_board.hpp>

#include "bundle_probe.hpp"
#include "change_lanes.hpp"
#include "control_server.hpp"
#include "inbox.hpp"
#include "install_policy.hpp"
#include "printable.hpp"
#include "request_outcomes.hpp"
#include "serial_worker.hpp"
#include "status_board_writer.hpp"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

namespace graft {
namespace {

namespace fs = std::filesystem;
using control::Command;
using control::Request;
using nlohmann::json;

// Wakes the board refresher; shared with the runtime's event listener,
// which may outlive the control plane (listeners cannot be removed).
struct RefreshSignal {
  std::mutex mu;
  std::condition_variable cv;
  bool due = false;
  bool stopping = false;

  void raise() {
    {
      std::lock_guard lock(mu);
      due = true;
    }
    cv.notify_one();
  }
};

std::string default_host_name() {
  return program_invocation_short_name != nullptr && *program_invocation_short_name != '\0'
             ? program_invocation_short_name
             : "host";
}

std::string_view error_kind(const Status& st) {
  switch (st.code()) {
    case ErrorCode::file_missing:
    case ErrorCode::unknown_component:
    case ErrorCode::not_loaded:
      return control::kKindNotFound;
    default:
      return control::kKindRefused;
  }
}

std::string error_reply(std::uint64_t id, const Status& st) {
  return control::encode_error_reply(id, error_kind(st), to_string(st.code()), st.message());
}

std::string ok_reply(std::uint64_t id, const json& result) {
  return control::encode_ok_reply(id, result.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Deadlines are on CLOCK_MONOTONIC (steady_clock), which every process of
// the machine shares and nobody can set: a wall clock stepped back while a
// host was stopped must not revive a request its client gave up on.
std::uint64_t monotonic_ms_now() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

SwapMode swap_mode(const std::string& name) {
  if (name == "immediate") return SwapMode::immediate;
  if (name == "quiesce") return SwapMode::quiesce;
  return SwapMode::automatic;
}

// What makes a retry the same request: everything but its deadline.
std::string fingerprint(const Request& r) {
  Request same = r;
  same.deadline_ms = 0;
  return control::encode_request(same);
}

json outcome_json(const InstallOutcome& o) {
  json j = {{"component", o.component}, {"version", o.version}, {"from", o.from}};
  if (o.already_serving) j["already_serving"] = true;
  if (!o.mode.empty()) j["mode"] = o.mode;
  if (!o.note.empty()) j["note"] = o.note;
  return j;
}

json pending_json(const PendingBundle& p) {
  return {{"bundle", p.name},
          {"path", p.path.string()},
          {"component", p.component},
          {"version", p.version},
          {"applies_to", p.applies_to}};
}

}  // namespace

struct ControlPlane::Impl {
  Runtime& runtime;
  Installer& installer;
  ControlOptions options;
  std::shared_ptr<spdlog::logger> logger;
  HostDirectory directory;
  const int pid = ::getpid();
  const std::uint64_t start_ticks = process_start_ticks(::getpid());
  const std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  fs::path socket_path;
  std::string board_name;
  control::InstallPolicy policy;

  mutable std::mutex pending_mu;
  std::vector<PendingBundle> pending_bundles;

  std::unique_ptr<control::StatusBoardWriter> board;
  std::shared_ptr<RefreshSignal> refresh = std::make_shared<RefreshSignal>();
  std::uint64_t refreshes = 0;  // under publish_mu
  std::thread refresher;
  std::mutex publish_mu;  // the refresher and a finished change both publish
  control::RequestOutcomes outcomes;
  std::unique_ptr<control::ChangeLanes> lanes;
  // Where an install's slow half runs (verify, store copy, fsync), one lane
  // per component too, so that its lane in `lanes` is taken only for the
  // switch: a rollback or commit of the same component does not wait for it.
  std::unique_ptr<control::ChangeLanes> preparing;
  std::unique_ptr<control::SerialWorker> worker;  // the inbox's intake
  std::unique_ptr<control::Inbox> inbox;
  std::unique_ptr<control::ControlServer> server;

  Impl(Runtime& r, Installer& i, ControlOptions o)
      : runtime(r),
        installer(i),
        options(std::move(o)),
        // The runtime owns its logger; borrow it without owning it.
        logger(r.options().logger
                   ? r.options().logger
                   : std::shared_ptr<spdlog::logger>(std::shared_ptr<void>(), &r.logger())),
        directory(options.run_dir.empty() ? default_run_dir() : options.run_dir),
        policy(r.options().state_dir, options.auto_install) {
    if (options.host_name.empty()) options.host_name = default_host_name();
    socket_path = directory.socket_path(pid);
    board_name = directory.board_name(pid);
  }

  BoardSnapshot snapshot() {
    BoardSnapshot s;
    s.pid = pid;
    s.process_start_ticks = start_ticks;
    s.name = options.host_name;
    s.started = started;
    s.refreshed = std::chrono::system_clock::now();
    s.refreshes = refreshes;
    s.auto_install = policy.auto_install();
    s.has_inbox = !options.inbox_dir.empty();
    // PREVIOUS is what a rollback would go back to: the slot's previous
    // version in probation, else the recorded one (reloaded from the store).
    const InstalledState recorded = installer.state();
    for (const SlotStatus& st : runtime.status()) {
      BoardComponent c;
      c.name = st.component;
      c.interface_id = st.interface_id;
      c.version = st.version;
      c.previous_version = st.previous_version;
      if (c.previous_version.empty()) {
        auto it = recorded.components.find(st.component);
        if (it != recorded.components.end() && it->second.previous) {
          c.previous_version = it->second.previous->to_string();
        }
      }
      c.state = std::string(to_string(st.state));
      c.calls = st.calls;
      c.errors = st.errors;
      c.in_flight = st.in_flight;
      c.probation_left = st.probation_left;
      c.last_event = st.last_event;
      s.components.push_back(std::move(c));
    }
    std::lock_guard lock(pending_mu);
    for (const auto& p : pending_bundles) {
      s.pending.push_back({p.name, p.component, p.version, p.path.string()});
    }
    return s;
  }

  void refresh_loop() {
    for (;;) {
      {
        std::unique_lock lock(refresh->mu);
        refresh->cv.wait_for(lock, options.board_refresh,
                             [this] { return refresh->due || refresh->stopping; });
        if (refresh->stopping) return;
        refresh->due = false;
      }
      publish_now();
    }
  }

  // The board shows a change as soon as its request returns.
  void publish_now() {
    std::lock_guard lock(publish_mu);
    ++refreshes;
    if (board) board->publish(snapshot());  // none when every name was squatted
  }

  // --- requests ---------------------------------------------------------

  void dispatch(const Request& r, std::function<void(std::string)> reply) {
    switch (r.command) {
      case Command::ping:
        reply(ok_reply(r.id, {{"pid", pid}, {"name", options.host_name}}));
        return;
      case Command::status:
        reply(ok_reply(r.id, json::parse(to_json(snapshot()))));
        return;
      case Command::pending: {
        json list = json::array();
        for (const auto& p : pending())
          list.push_back(pending_json(p));
        reply(ok_reply(r.id, {{"pid", pid}, {"name", options.host_name}, {"pending", list}}));
        return;
      }
      case Command::policy:
        if (r.auto_install) {
          if (Status st = set_auto_install(*r.auto_install); !st.ok()) {
            reply(error_reply(r.id, st));
            return;
          }
        }
        reply(ok_reply(r.id, {{"pid", pid},
                              {"name", options.host_name},
                              {"auto_install", policy.auto_install()},
                              {"recorded", policy.recorded()}}));
        return;
      case Command::install:
      case Command::rollback:
      case Command::commit:
      case Command::approve:
        break;
    }
    // Changes: at most once per id, each on its component's lane, off the
    // socket's thread. (Id 0 comes only from handle(): not deduplicated.)
    if (r.id != 0) {
      switch (outcomes.admit(r.id, fingerprint(r), reply)) {
        case control::RequestOutcomes::Admit::duplicate:
          logger->info("control: request {} ({}) seen before: answered with its first outcome",
                       r.id, to_string(r.command));
          return;
        case control::RequestOutcomes::Admit::conflict:
          reply(control::encode_error_reply(
              r.id, control::kKindProtocol, "bad_request",
              "request id " + std::to_string(r.id) + " was used before for a different request"));
          return;
        case control::RequestOutcomes::Admit::first:
          break;
      }
    }
    auto answer = [this, r, reply](std::string payload) {
      if (r.id != 0) outcomes.finish(r.id, payload);
      reply(std::move(payload));
    };
    auto stopping = [r, answer] {
      answer(control::encode_error_reply(r.id, control::kKindBusy, "stopping",
                                         "the host is shutting down; not applied"));
    };
    if (r.command == Command::install) {
      // The slow half first, off the component's lane; then the switch on it.
      if (!preparing->post(r.component, [this, r, answer, stopping] {
            auto prepared = std::make_shared<PreparedInstall>();
            if (std::optional<std::string> refused = prepare_install(r, prepared.get())) {
              answer(std::move(*refused));
              return;
            }
            if (!lanes->post(prepared->component(), [this, r, prepared, answer] {
                  std::string payload = finish_install(r, *prepared);
                  publish_now();
                  answer(std::move(payload));
                })) {
              stopping();
            }
          })) {
        stopping();
      }
      return;
    }
    const std::string lane = r.command == Command::approve ? std::string("approve") : r.component;
    const bool posted = lanes->post(lane, [this, r, answer] {
      std::string payload = change(r);
      publish_now();
      answer(std::move(payload));
    });
    if (!posted) stopping();
  }

  // A reply when the request's deadline passed before the host could start
  // it (put on record as a refusal); nothing otherwise.
  std::optional<std::string> expired(const Request& r) {
    if (r.deadline_ms == 0 || monotonic_ms_now() < r.deadline_ms) return std::nullopt;
    const std::string what = std::string(to_string(r.command)) + " " +
                             (r.command == Command::install || r.command == Command::approve
                                  ? (r.all ? std::string("--all") : r.bundle)
                                  : r.component);
    const std::string why = "request " + std::to_string(r.id) + " (" + what +
                            ") expired before the host could start it; not applied";
    installer.record_refusal("request_expired", why, r.component, "operator",
                             r.command == Command::install ? fs::path(r.bundle) : fs::path());
    return control::encode_error_reply(r.id, control::kKindExpired, "request_expired", why);
  }

  // An install's slow half: the deadline, then Installer::prepare (its
  // refusals are on record). A reply when it ends the request here.
  std::optional<std::string> prepare_install(const Request& r, PreparedInstall* prepared) {
    try {
      if (std::optional<std::string> reply = expired(r)) return reply;
      if (Status st = installer.prepare(fs::absolute(r.bundle), "operator", prepared); !st.ok()) {
        return error_reply(r.id, st);
      }
      return std::nullopt;
    } catch (const std::exception& e) {
      logger->error("control: install failed: {}", e.what());
      return control::encode_error_reply(r.id, control::kKindInternal, "internal", e.what());
    }
  }

  // An install's switch, on the component's lane.
  std::string finish_install(const Request& r, PreparedInstall& prepared) {
    try {
      const fs::path bundle = fs::absolute(r.bundle);
      SwapOptions swap;
      swap.by = "operator";
      swap.mode = swap_mode(r.mode);
      InstallOutcome out;
      if (Status st = installer.install_prepared(prepared, swap, &out); !st.ok()) {
        return error_reply(r.id, st);
      }
      json result;
      describe_install(bundle, "operator", out, &result);
      return ok_reply(r.id, result);
    } catch (const std::exception& e) {
      logger->error("control: install failed: {}", e.what());
      return control::encode_error_reply(r.id, control::kKindInternal, "internal", e.what());
    }
  }

  std::string change(const Request& r) {
    try {
      if (std::optional<std::string> reply = expired(r)) return std::move(*reply);
      switch (r.command) {
        case Command::rollback: {
          InstallOutcome out;
          if (Status st = installer.rollback(r.component, "operator", swap_mode(r.mode), &out);
              !st.ok()) {
            return error_reply(r.id, st);
          }
          json result = outcome_json(out);
          result["pid"] = pid;
          result["name"] = options.host_name;
          if (SlotCore* slot = runtime.find(r.component)) {
            result["state"] = std::string(to_string(slot->status().state));
          }
          return ok_reply(r.id, result);
        }
        case Command::commit: {
          SlotCore* slot = runtime.find(r.component);
          const SlotStatus before = slot != nullptr ? slot->status() : SlotStatus();
          if (Status st = installer.commit(r.component, "operator"); !st.ok()) {
            return error_reply(r.id, st);
          }
          const SlotStatus after = slot->status();
          // In probation (the slot may also show draining): the previous
          // version was kept and is released now. Otherwise previous_version
          // only names where a rollback would go.
          const bool was_probation = std::any_of(
              before.versions.begin(), before.versions.end(),
              [](const VersionStatus& v) { return v.state == VersionState::probation; });
          return ok_reply(r.id, {{"pid", pid},
                                 {"name", options.host_name},
                                 {"component", r.component},
                                 {"version", after.version},
                                 {"released", was_probation ? before.previous_version : ""},
                                 {"was_probation", was_probation},
                                 {"state", std::string(to_string(after.state))}});
        }
        case Command::approve:
          return approve(r);
        default:
          return control::encode_error_reply(r.id, control::kKindInternal, "internal",
                                             "not a change");
      }
    } catch (const std::exception& e) {
      logger->error("control: {} failed: {}", to_string(r.command), e.what());
      return control::encode_error_reply(r.id, control::kKindInternal, "internal", e.what());
    }
  }

  // Installs one bundle folder (the Installer verifies it and puts any
  // refusal on record). `result` describes the swap.
  Status install(const fs::path& bundle, std::string_view by, SwapMode mode, json* result) {
    SwapOptions swap;
    swap.by = std::string(by);
    swap.mode = mode;
    InstallOutcome out;
    if (Status st = installer.install(bundle, swap, &out); !st.ok()) return st;
    describe_install(bundle, by, out, result);
    return {};
  }

  // Logs an install that happened and describes it for the reply.
  void describe_install(const fs::path& bundle, std::string_view by, const InstallOutcome& out,
                        json* result) {
    if (!out.already_serving) {
      logger->info("control: installed {} {} over {} from {} (by {}, {}){}",
                   printable(out.component), out.version, out.from, printable(bundle.string()), by,
                   out.mode, out.note.empty() ? "" : ": " + out.note);
    }
    *result = outcome_json(out);
    (*result)["pid"] = pid;
    (*result)["name"] = options.host_name;
    (*result)["bundle"] = bundle.string();
  }

  std::string approve(const Request& r) {
    std::vector<PendingBundle> chosen;
    {
      std::lock_guard lock(pending_mu);
      for (const auto& p : pending_bundles) {
        if (r.all || p.name == r.bundle || p.path == fs::path(r.bundle) ||
            fs::path(r.bundle).filename() == p.name) {
          chosen.push_back(p);
        }
      }
    }
    if (chosen.empty() && !r.all) {
      return control::encode_error_reply(
          r.id, control::kKindNotFound, "not_pending",
          "host '" + options.host_name + "' holds no pending bundle '" + r.bundle + "'");
    }
    json results = json::array();
    bool all_ok = true;
    for (const auto& p : chosen) {
      json result;
      Status st = install(p.path, "operator", swap_mode(r.mode), &result);
      forget_pending(p.name);
      if (st.ok()) {
        if (inbox) report_move(inbox->retire(p.name));
        results.push_back(result);
      } else {
        all_ok = false;
        refuse(p.name, st);
        results.push_back(
            {{"bundle", p.name},
             {"component", p.component},
             {"version", p.version},
             {"error", {{"code", std::string(to_string(st.code()))}, {"message", st.message()}}}});
      }
    }
    if (!all_ok && chosen.size() == 1) {
      return control::encode_error_reply(r.id, control::kKindRefused,
                                         results[0]["error"]["code"].get<std::string>(),
                                         results[0]["error"]["message"].get<std::string>());
    }
    return ok_reply(
        r.id,
        {{"pid", pid}, {"name", options.host_name}, {"approved", results}, {"all_ok", all_ok}});
  }

  std::vector<PendingBundle> pending() const {
    std::lock_guard lock(pending_mu);
    return pending_bundles;
  }

  void forget_pending(const std::string& name) {
    {
      std::lock_guard lock(pending_mu);
      std::erase_if(pending_bundles, [&](const PendingBundle& p) { return p.name == name; });
    }
    refresh->raise();
  }

  Status set_auto_install(bool on) {
    Status st = policy.set_auto_install(on);
    if (st.ok()) {
      logger->info("control: auto-install {} (recorded in {})", on ? "on" : "off",
                   policy.file().string());
      refresh->raise();
    }
    return st;
  }

  // --- inbox --------------------------------------------------------------

  void report_move(const Status& st) {
    if (!st.ok()) logger->error("inbox: {}", st.message());
  }

  // The Installer has put the refusal on record (journal and log); the
  // bundle leaves the inbox.
  void refuse(const std::string& name, const Status& why) {
    if (inbox) {
      report_move(
          inbox->set_aside(name, std::string(to_string(why.code())) + ": " + why.message()));
    }
  }

  void intake(const std::string& name, const fs::path& path) {
    if (is_revocation_folder(path)) {  // [fleet] a signed revocation, not a bundle
      if (Status st = installer.revoke(path); !st.ok()) {
        refuse(name, st);
      } else {
        report_move(inbox->retire(name));
        refresh->raise();
      }
      return;
    }
    if (policy.auto_install()) {
      json result;
      if (Status st = install(path, "inbox", SwapMode::automatic, &result); !st.ok()) {
        refuse(name, st);
        return;
      }
      report_move(inbox->retire(name));
      refresh->raise();
      return;
    }
    VerifiedBundle verified;
    if (Status st = installer.check(path, "inbox", &verified); !st.ok()) {
      refuse(name, st);
      return;
    }
    const std::string component = verified.manifest.component;
    const std::string version = verified.manifest.version.to_string();
    SlotCore* slot = runtime.find(component);
    // Held for approval only if approving could install it: a bundle for no
    // slot, or not newer than what serves, would only be refused then.
    std::optional<Status> pointless;
    if (slot == nullptr) {
      pointless = Status(ErrorCode::not_loaded,
                         "host '" + options.host_name + "' has no component '" + component + "'");
    } else if (const auto serving = slot->serving_version();
               serving && !(*serving < verified.manifest.version)) {
      pointless = Status(ErrorCode::not_newer, "bundle " + name + " (" + component + " " + version +
                                                   "): not newer than the serving version " +
                                                   serving->to_string());
    }
    if (pointless) {
      installer.record_refusal(to_string(pointless->code()), pointless->message(), component,
                               "inbox", path);
      refuse(name, *pointless);
      return;
    }
    PendingBundle p{name, path, component, version, verified.manifest.applies_to.to_string()};
    {
      std::lock_guard lock(pending_mu);
      std::erase_if(pending_bundles, [&](const PendingBundle& q) { return q.name == name; });
      pending_bundles.push_back(p);
    }
    logger->info("inbox: bundle {} ({} {}) verified; held for approval (auto-install is off)",
                 printable(name), printable(component), version);
    refresh->raise();
  }
};

ControlPlane::ControlPlane(Runtime& runtime, Installer& installer, ControlOptions options)
    : impl_(std::make_unique<Impl>(runtime, installer, std::move(options))) {
  Impl& m = *impl_;
  m.directory.prepare();
  if (auto removed = m.directory.remove_dead(); !removed.empty()) {
    m.logger->info("control: removed the socket and board of {} dead host(s)", removed.size());
  }
  // Board names are predictable: another user may have taken ours. The host
  // then uses an unpredictable one (recorded in the run directory), or runs
  // without a board, saying so; it does not refuse to start.
  std::string board_warning;
  m.board = control::StatusBoardWriter::create(m.board_name, &board_warning);
  if (!board_warning.empty()) m.logger->warn("control: status board: {}", board_warning);
  m.directory.forget_board_name(m.pid);  // a dead host's of the same pid
  if (m.board && m.board->name() != m.board_name) {
    if (Status st = m.directory.record_board_name(m.pid, m.board->name()); !st) {
      m.logger->warn("control: cannot record the board's name: {}", st.message());
    }
  }
  m.board_name = m.board ? m.board->name() : std::string();
  if (m.board) m.board->publish(m.snapshot());
  m.refresher = std::thread([&m] { m.refresh_loop(); });
  runtime.on_event([weak = std::weak_ptr<RefreshSignal>(m.refresh)](const SlotEvent&) {
    if (auto signal = weak.lock()) signal->raise();
  });
  m.worker = std::make_unique<control::SerialWorker>();
  m.lanes = std::make_unique<control::ChangeLanes>();
  m.preparing = std::make_unique<control::ChangeLanes>();
  try {
    if (!m.options.inbox_dir.empty()) {
      control::InboxOptions io;
      io.settle = m.options.inbox_settle;
      io.incomplete_limit = m.options.inbox_incomplete_limit;
      io.rescan_interval = m.options.inbox_rescan;
      m.inbox = std::make_unique<control::Inbox>(
          m.options.inbox_dir, [](const fs::path& bundle) { return control::probe_bundle(bundle); },
          [&m](const std::string& name, const fs::path& path) {
            m.worker->post([&m, name, path] {
              try {
                m.intake(name, path);
              } catch (const std::exception& e) {
                m.logger->error("inbox: bundle {}: {}", printable(name), printable(e.what()));
              }
            });
          },
          [&m](const std::string& name) { m.forget_pending(name); }, io, m.logger);
    }
    control::ControlServerOptions so;
    so.deadline = m.options.connection_deadline;
    so.max_connections = m.options.max_connections;
    m.server = std::make_unique<control::ControlServer>(
        m.socket_path,
        [&m](const Request& r, control::ControlServer::Reply reply) {
          m.dispatch(r, std::move(reply));
        },
        so, m.logger);
  } catch (...) {
    m.preparing->stop();
    m.lanes->stop();
    m.worker->stop();
    m.inbox.reset();
    {
      std::lock_guard lock(m.refresh->mu);
      m.refresh->stopping = true;
    }
    m.refresh->cv.notify_all();
    m.refresher.join();
    throw;
  }
  m.logger->info("control: host '{}' pid {} serving {} (board {}, auto-install {}{})",
                 m.options.host_name, m.pid, m.socket_path.string(), m.board_name,
                 m.policy.auto_install() ? "on" : "off",
                 m.options.inbox_dir.empty() ? "" : ", inbox " + m.options.inbox_dir.string());
}

ControlPlane::~ControlPlane() {
  Impl& m = *impl_;
  // The changes already asked for finish (their replies still reach the
  // socket; jobs posted from now on are dropped), then the inbox, the
  // socket and the board go. Installs being prepared first: they hand
  // their switch to a lane.
  m.preparing->stop();
  m.lanes->stop();
  m.worker->stop();
  m.inbox.reset();
  m.server.reset();
  {
    std::lock_guard lock(m.refresh->mu);
    m.refresh->stopping = true;
  }
  m.refresh->cv.notify_all();
  if (m.refresher.joinable()) m.refresher.join();
  m.board.reset();
  m.directory.forget_board_name(m.pid);
}

const fs::path& ControlPlane::socket_path() const noexcept {
  return impl_->socket_path;
}
const std::string& ControlPlane::board_name() const noexcept {
  return impl_->board_name;
}
const std::string& ControlPlane::host_name() const noexcept {
  return impl_->options.host_name;
}
bool ControlPlane::auto_install() const noexcept {
  return impl_->policy.auto_install();
}
Status ControlPlane::set_auto_install(bool on) {
  return impl_->set_auto_install(on);
}
std::vector<PendingBundle> ControlPlane::pending() const {
  return impl_->pending();
}

std::string ControlPlane::handle(const Request& request) {
  auto done = std::make_shared<std::promise<std::string>>();
  auto answer = done->get_future();
  impl_->dispatch(request, [done](std::string payload) { done->set_value(std::move(payload)); });
  return answer.get();
}

}  // namespace graft
