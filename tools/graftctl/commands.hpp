// Each group of graftctl commands registers its subcommands here. A
// subcommand's callback stores its exit code in `Context::exit_code`.
#pragma once

#include <CLI/CLI.hpp>

namespace graftctl {

struct Context {
  int exit_code = 0;
};

// keygen, bundle, verify (offline: keys and bundles).
void add_trust_commands(CLI::App& app, Context& ctx);
// hosts, status, top, install, rollback, commit, pending, approve, policy.
void add_control_commands(CLI::App& app, Context& ctx);
// new-component (a skeleton for component authors).
void add_scaffold_commands(CLI::App& app, Context& ctx);
// fleet publish, fleet rollout, fleet status (etcd and an object store).
void add_fleet_commands(CLI::App& app, Context& ctx);

}  // namespace graftctl
