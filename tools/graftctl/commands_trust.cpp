#include "commands.hpp"

namespace graftctl {

void add_trust_commands(CLI::App& app, Context& ctx) {
  (void)app;
  (void)ctx;
}

}  // namespace graftctl
