// graft-agent: follows the fleet's releases for the hosts of one machine.
//
//   graft-agent --config /etc/graft/agent.conf
//
// It prints "ready <pid>" (and "metrics <port>" when /metrics is on) once
// it runs, and stops on SIGTERM or SIGINT.
#include "agent.hpp"
#include "metrics_server.hpp"

#include <signal.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  std::string config_file;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_file = argv[++i];
    } else if (std::strcmp(argv[i], "--help") == 0) {
      std::printf("usage: graft-agent --config FILE   (docs/fleet.md describes the file)\n");
      return 0;
    } else {
      std::fprintf(stderr, "graft-agent: unknown argument '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  if (config_file.empty()) {
    std::fprintf(stderr, "graft-agent: --config FILE is required\n");
    return 2;
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  graft::agent::AgentConfig config;
  if (auto st = graft::agent::load_config(config_file, &config); !st.ok()) {
    std::fprintf(stderr, "graft-agent: %s\n", st.message().c_str());
    return 2;
  }
  auto logger = std::make_shared<spdlog::logger>("graft-agent",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_level(spdlog::level::info);
  try {
    graft::agent::Agent agent(config, logger);
    agent.start();
    std::unique_ptr<graft::agent::MetricsServer> metrics;
    if (!config.metrics.empty()) {
      metrics = std::make_unique<graft::agent::MetricsServer>(
          config.metrics, [&agent] { return agent.metrics_text(); });
    }
    std::printf("ready %d\n", ::getpid());
    if (metrics) {
      std::printf("metrics %d\n", metrics->port());
      logger->info("metrics at http://{}:{}/metrics",
                   config.metrics.substr(0, config.metrics.rfind(':')), metrics->port());
    }
    std::fflush(stdout);
    int signo = 0;
    sigwait(&stop_signals, &signo);
    logger->info("stopping (signal {})", signo);
    metrics.reset();
    agent.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "graft-agent: %s\n", e.what());
    return 1;
  }
  return 0;
}
