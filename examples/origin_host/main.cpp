// origin_host: an HTTP server whose navigation policy (the origin_guard
// component) is patched live while it serves.
#include "host_options.hpp"
#include "http_server.hpp"
#include "origin_api.hpp"
#include "origin_guard.h"
#include "status_json.hpp"

#include <graft/control_plane.hpp>
#include <graft/installer.hpp>
#include <graft/runtime.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>

#include <unistd.h>

#include <chrono>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// How long a stop waits for connections to finish their answers.
constexpr auto kStopGrace = 5s;

std::shared_ptr<spdlog::logger> make_logger(bool verbose) {
  auto logger = spdlog::stderr_color_mt("origin_host");
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  return logger;
}

int serve(const origin_host::HostOptions& options) {
  auto logger = make_logger(options.verbose);

  graft::RuntimeOptions runtime_options;
  runtime_options.state_dir = options.state_dir;
  runtime_options.logger = logger;
  auto runtime = graft::Runtime::open(runtime_options);
  auto& guard = runtime->slot<navigation_policy_v1>("origin_guard");

  // A restarted host comes back on the versions it had installed, verified
  // again; --component only seeds a state directory that has none.
  graft::InstallerOptions installer_options;
  installer_options.trusted_keys = options.trusted_keys;
  graft::Installer installer(*runtime, installer_options);
  if (auto st = installer.restore(); !st.ok()) {
    logger->error("cannot restore the installed versions: {}", st.message());
  }
  if (!guard.serving_version() && !options.component.empty()) {
    graft::SwapOptions load_options;
    load_options.by = "host";
    // A bundle folder is verified against the trusted keys like any patch;
    // a bare shared object is loaded as it is.
    const bool is_bundle = std::filesystem::is_directory(options.component);
    const auto st = is_bundle ? installer.install(options.component, load_options)
                              : guard.load(options.component, load_options);
    if (!st.ok()) {
      logger->error("cannot start on {}: {}", options.component.string(), st.message());
      return 1;
    }
  }
  if (!guard.serving_version()) {
    logger->error("no origin_guard version to serve: pass --component FILE|BUNDLE");
    return 2;
  }

  // graftctl's control socket, the status board, and the inbox.
  graft::ControlOptions control_options;
  control_options.host_name = "origin_host";
  control_options.run_dir = options.run_dir;
  control_options.inbox_dir = options.inbox;
  control_options.auto_install = options.auto_install;
  graft::ControlPlane control(*runtime, installer, control_options);

  asio::io_context io;
  const auto started = std::chrono::steady_clock::now();
  origin_host::HttpServer* server_ref = nullptr;
  origin_host::OriginApi api(guard, [&] {
    return nlohmann::json{
        {"host", "origin_host"},
        {"pid", ::getpid()},
        {"uptime_s",
         std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()},
        {"requests_answered", server_ref != nullptr ? server_ref->requests_answered() : 0},
        {"components", origin_host::to_json(runtime->status())},
        {"control", origin_host::to_json(control)}};
  });
  // Only the loopback interface: this is a demonstration host.
  origin_host::HttpServer server(
      io, {asio::ip::make_address("127.0.0.1"), options.port},
      [&api](const origin_host::HttpRequest& request) { return api.handle(request); });
  server_ref = &server;

  std::promise<int> stop_signal;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (!ec) stop_signal.set_value(signo);
  });

  server.start();
  std::vector<std::thread> workers;
  for (unsigned i = 0; i < options.threads; ++i)
    workers.emplace_back([&io] { io.run(); });

  std::printf("origin_host ready port=%u pid=%d version=\"%s\" control=%s\n", server.port(),
              ::getpid(), guard.serving_version()->to_string().c_str(),
              control.socket_path().c_str());
  std::fflush(stdout);
  logger->info("serving on 127.0.0.1:{} with {} threads, origin_guard {}", server.port(),
               options.threads, guard.serving_version()->to_string());

  const int signo = stop_signal.get_future().get();
  logger->info("signal {}: stopping; answering requests in flight", signo);
  server.stop();
  const auto give_up = std::chrono::steady_clock::now() + kStopGrace;
  while (server.connections() > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(5ms);
  }
  if (server.connections() > 0) {
    logger->warn("{} connection(s) still open after {} s; closing them", server.connections(),
                 kStopGrace.count());
  }
  io.stop();
  for (auto& w : workers)
    w.join();
  logger->info("stopped after {} requests", server.requests_answered());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  const auto options = origin_host::parse_host_options(argc, argv, exit_code);
  if (!options) return exit_code;
  // libidn2 turns IDN hosts into punycode only under a UTF-8 locale.
  std::setlocale(LC_CTYPE, "C.UTF-8");
  try {
    return serve(*options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "origin_host: %s\n", e.what());
    return 1;
  }
}
