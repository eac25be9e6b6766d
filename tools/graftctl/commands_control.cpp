#include "commands.hpp"

namespace graftctl {

void add_control_commands(CLI::App& app, Context& ctx) {
  (void)app;
  (void)ctx;
}

}  // namespace graftctl
