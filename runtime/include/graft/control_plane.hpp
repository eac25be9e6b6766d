// The control plane a host turns on with one object: a control socket for
// graftctl, a status board in shared memory, and (optionally) an inbox
// folder watched for patch bundles.
//
//   graft::Installer installer(*runtime, {.trusted_keys = {"ops.pub"}});
//   graft::ControlOptions control;
//   control.host_name = "frontend";
//   control.inbox_dir = "/var/lib/frontend/inbox";
//   graft::ControlPlane plane(*runtime, installer, control);
//
// Everything the plane does to the runtime goes through the Installer, on
// one worker thread: operator requests and inbox bundles never race.
#pragma once

#include <graft/control_protocol.hpp>
#include <graft/status.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

class Runtime;
class Installer;

struct ControlOptions {
  // How graftctl names this host (besides its pid). Default: the program's name.
  std::string host_name;
  // Where the control socket goes. Default: default_run_dir() (GRAFT_RUN_DIR,
  // $XDG_RUNTIME_DIR/graft, /tmp/graft-<uid>).
  std::filesystem::path run_dir;
  // Watched for patch bundles; empty: no inbox.
  std::filesystem::path inbox_dir;
  // The auto-install policy when the state directory holds no recorded
  // choice yet. Once an operator sets the policy (graftctl policy), the
  // recorded choice wins across restarts.
  bool auto_install = false;
  // How often the status board is rewritten (it is also rewritten on every
  // slot event).
  std::chrono::milliseconds board_refresh{150};
  // A connection must deliver each request within this long.
  std::chrono::milliseconds connection_deadline{5000};
  std::size_t max_connections = 64;
  // Inbox: a bundle whose shared object is at full size but does not match
  // the manifest's hash is looked at once it has not changed for this long;
  // one that stays incomplete (parts missing) for incomplete_limit is
  // refused.
  std::chrono::milliseconds inbox_settle{1500};
  std::chrono::milliseconds inbox_incomplete_limit{60000};
  std::chrono::milliseconds inbox_rescan{1000};
};

// A verified bundle held until an operator approves it.
struct PendingBundle {
  std::string name;  // its folder's name in the inbox
  std::filesystem::path path;
  std::string component;
  std::string version;
  std::string applies_to;
};

class ControlPlane {
 public:
  // Removes what dead hosts left in the run directory, creates this host's
  // board and socket, and starts watching the inbox. Throws graft::Error
  // when any of them cannot be set up.
  ControlPlane(Runtime& runtime, Installer& installer, ControlOptions options);
  // Stops the inbox and the socket (an install in progress finishes first),
  // and removes the socket and the board.
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  const std::filesystem::path& socket_path() const noexcept;
  const std::string& board_name() const noexcept;
  const std::string& host_name() const noexcept;

  bool auto_install() const noexcept;
  Status set_auto_install(bool on);
  std::vector<PendingBundle> pending() const;

  // Answers one request as the socket would (reply payload, JSON). Blocks
  // until done. For hosts that expose control another way, and for tests.
  std::string handle(const control::Request& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace graft

#pragma GCC visibility pop
