// loadgen: keep-alive HTTP clients on N threads for T seconds, reporting
// per second the requests, errors, p50/p99/max latency and the component
// versions that answered; split before/during/after events marked in a
// file while it runs.
#include "event_marks.hpp"
#include "load_client.hpp"
#include "load_options.hpp"
#include "load_recorder.hpp"
#include "load_report.hpp"
#include "report_output.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include <fstream>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

namespace {

// The request the advisory names, and two ordinary ones.
const std::vector<std::string> kDefaultTargets = {
    "/check?from=https%3A%2F%2Fbank.example.attacker.test%2F&to=https%3A%2F%2Fbank.example%"
    "2Faccount",
    "/check?from=https%3A%2F%2Fbank.example%2F&to=https%3A%2F%2Fbank.example%2Fstatement",
    "/check?from=https%3A%2F%2Fnews.example%2F&to=https%3A%2F%2Fbank.example%2Faccount",
};

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int run(const loadgen::LoadOptions& options) {
  namespace asio = boost::asio;
  const asio::ip::tcp::endpoint endpoint{asio::ip::make_address(options.host), options.port};
  const auto seconds = static_cast<std::size_t>(options.duration.count());
  const std::size_t clients = options.threads * options.connections_per_thread;

  const auto start_unix_ms = unix_ms_now();
  const auto start = loadgen::Clock::now();
  const auto deadline = start + options.duration;
  std::vector<loadgen::LoadRecorder> recorders(clients, loadgen::LoadRecorder(start, seconds));
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < options.threads; ++t) {
    threads.emplace_back([&, t] {
      asio::io_context io(1);
      for (unsigned c = 0; c < options.connections_per_thread; ++c) {
        const std::size_t index = t * options.connections_per_thread + c;
        std::make_shared<loadgen::LoadClient>(io, endpoint, options, deadline, recorders[index],
                                              index)
            ->start();
      }
      io.run();
    });
  }
  for (auto& t : threads)
    t.join();

  const auto report = loadgen::build_load_report(
      recorders, loadgen::read_event_marks(options.marks_file), start_unix_ms,
      std::chrono::duration<double>(options.duration).count());
  if (options.table) loadgen::write_table(report, std::cout);
  if (options.json_file == "-") {
    loadgen::write_json_lines(report, std::cout);
  } else if (!options.json_file.empty()) {
    std::ofstream out(options.json_file);
    loadgen::write_json_lines(report, out);
  }
  if (!options.summary_file.empty()) {
    std::ofstream out(options.summary_file);
    loadgen::write_summary_vars(report, out);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  loadgen::LoadOptions o;
  unsigned duration_s = 10;
  unsigned timeout_ms = 2000;
  unsigned retry_ms = 10;
  bool no_table = false;
  CLI::App app{
      "loadgen - keep-alive HTTP load with a per-second report of latency, errors and "
      "the component versions that answered"};
  app.add_option("--host", o.host, "server address (IPv4 or IPv6 literal)")->capture_default_str();
  app.add_option("-p,--port", o.port, "server port")->required();
  app.add_option("-t,--threads", o.threads, "client threads")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  app.add_option("-c,--connections", o.connections_per_thread, "keep-alive connections per thread")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  app.add_option("-d,--duration", duration_s, "seconds to run")
      ->check(CLI::Range(1u, 3600u))
      ->capture_default_str();
  app.add_option("--target", o.targets,
                 "request target, e.g. '/check?from=...&to=...' (repeat to rotate; default: the "
                 "advisory's exploit request and two ordinary ones)");
  app.add_option("--timeout-ms", timeout_ms, "a request (or connect) slower than this fails")
      ->capture_default_str();
  app.add_option("--retry-delay-ms", retry_ms, "pause after a failed request before reconnecting")
      ->capture_default_str();
  app.add_option("--marks", o.marks_file,
                 "file of 'NAME UNIX_MS' lines, written while the load runs, that splits the "
                 "report into before/during/after");
  app.add_option("--json", o.json_file,
                 "write JSON lines (one per second, then a summary); '-' "
                 "for stdout");
  app.add_option("--summary", o.summary_file, "write KEY=VALUE totals for scripts");
  app.add_flag("--no-table", no_table, "do not print the table");
  CLI11_PARSE(app, argc, argv);
  o.duration = std::chrono::seconds(duration_s);
  o.timeout = std::chrono::milliseconds(timeout_ms);
  o.retry_delay = std::chrono::milliseconds(retry_ms);
  o.table = !no_table;
  if (o.targets.empty()) o.targets = kDefaultTargets;
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "loadgen: " << e.what() << "\n";
    return 1;
  }
}
