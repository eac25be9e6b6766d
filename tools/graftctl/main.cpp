// graftctl: the operator's command for graft hosts.
#include "commands.hpp"
#include "exit_codes.hpp"

#include <algorithm>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Edits (insert, delete, replace, swap neighbours) from a to b.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The first argument when it is not an option and names no command: says
// so, with the nearest command when one is close. Empty when it is fine.
std::string unknown_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return {};
  const std::string word = argv[1];
  std::string best;
  std::size_t best_distance = 3;  // at most 2 edits, or a prefix
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    const std::string& name = sub->get_name();
    if (name == word) return {};
    const std::size_t d =
        name.rfind(word, 0) == 0 && word.size() >= 3 ? 1 : edit_distance(word, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  return "unknown command '" + word + "'" +
         (best.empty() ? std::string("") : "; did you mean '" + best + "'?") +
         " (run 'graftctl --help' for the commands)";
}

}  // namespace

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
  if (const std::string why = unknown_command(app, argc, argv); !why.empty()) {
    std::cerr << "graftctl: " << why << "\n";
    return graftctl::kExitUsage;
  }
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
