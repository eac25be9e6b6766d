// graftctl: the operator's command for graft hosts.
#include "commands.hpp"
#include "exit_codes.hpp"

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{
      "graftctl - install, verify, roll back and inspect live patches in running graft hosts"};
  app.require_subcommand(1);
  app.set_version_flag("--version", GRAFT_VERSION_STRING);
  app.footer(
      "Exit codes: 0 ok, 1 refused, 2 usage, 3 not found, 4 host not answering, 5 error.\n"
      "Run 'graftctl COMMAND --help' for a command's options.");
  graftctl::Context ctx;
  graftctl::add_trust_commands(app, ctx);
  graftctl::add_control_commands(app, ctx);
  graftctl::add_scaffold_commands(app, ctx);
  graftctl::add_fleet_commands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? graftctl::kExitOk : graftctl::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "graftctl: " << e.what() << "\n";
    return graftctl::kExitError;
  }
  return ctx.exit_code;
}
