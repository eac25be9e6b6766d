#include "host_options.hpp"

#include <CLI/CLI.hpp>

#include <thread>

namespace origin_host {

std::optional<HostOptions> parse_host_options(int argc, char** argv, int& exit_code) {
  HostOptions o;
  o.threads = std::max(2u, std::thread::hardware_concurrency());
  CLI::App app{
      "origin_host - serves the origin_guard navigation policy over HTTP on 127.0.0.1 and takes "
      "live patches of it"};
  app.add_option("-p,--port", o.port, "TCP port; 0 picks a free one (printed when ready)")
      ->capture_default_str();
  app.add_option("-t,--threads", o.threads, "HTTP worker threads")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  app.add_option("--state-dir", o.state_dir, "the runtime's store and installed state")
      ->capture_default_str();
  app.add_option("-c,--component", o.component,
                 "origin_guard to start on when no version is installed yet: a signed bundle "
                 "folder (verified against --trusted-key) or a shared object")
      ->check(CLI::ExistingPath);
  app.add_option("--inbox", o.inbox, "folder watched for patch bundles");
  app.add_option("--run-dir", o.run_dir, "folder for the control socket and status board");
  app.add_option("--trusted-key", o.trusted_keys, "public key file trusted to sign bundles")
      ->check(CLI::ExistingFile);
  app.add_flag("--auto-install,!--no-auto-install", o.auto_install,
               "install verified bundles from the inbox without asking (default: hold them)");
  app.add_flag("-v,--verbose", o.verbose, "log debug lines to stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    return std::nullopt;
  }
  // Absolute, so that what the host reports (and graftctl finds) does not
  // depend on the directory it was started from.
  for (auto* path : {&o.state_dir, &o.component, &o.inbox, &o.run_dir}) {
    if (!path->empty()) *path = std::filesystem::absolute(*path);
  }
  return o;
}

}  // namespace origin_host
