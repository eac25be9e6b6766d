// [lightweight] Which differ makes delta bundles: bsdiff and xdelta3 (the
// Debian commands, run as subprocesses on temporary files) against libzstd
// (a prefix-referenced frame with long-distance matching, what
// graft::detail::make_delta does), on every component version pair in the
// tree and on a generated ~5 MB component with a one-function fix, each
// with and without debug info. Sizes are counters of every benchmark
// (bytes); the time is one rebuild: zstd in process plus the SHA-256 check
// the host makes, the two tools as a subprocess each (that is how they
// would have to run: Debian ships neither as a library).
#include "trust/delta_object.hpp"

#include <graft/artifact_store.hpp>

#include <benchmark/benchmark.h>
#include <zstd.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace {
namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a command with stdout and stderr discarded; its exit status.
int run(const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void must_run(const std::vector<std::string>& argv) {
  if (run(argv) != 0) {
    std::string line;
    for (const auto& a : argv)
      line += a + " ";
    throw std::runtime_error("command failed: " + line);
  }
}

struct Pair {
  std::string label;    // "origin_guard 26.3.1 -> 26.3.1 (a)"
  std::string variant;  // "unstripped" or "stripped"
  fs::path base_file, target_file;
  std::string base, target;
  std::size_t full_zst = 0, bsdiff = 0, xdelta3 = 0, zstd = 0;
  std::string zstd_delta;
  fs::path bsdiff_patch, xdelta3_patch;
};

struct Workspace {
  fs::path dir;
  Workspace() {
    char tmpl[] = "/tmp/graft-bench-delta-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
  }
  ~Workspace() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::size_t zstd_full_size(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 19);
  if (ZSTD_isError(n)) throw std::runtime_error(ZSTD_getErrorName(n));
  return n;
}

Pair measure(const Workspace& ws, const std::string& label, const std::string& variant,
             const fs::path& base_so, const fs::path& target_so) {
  Pair p;
  p.label = label;
  p.variant = variant;
  const std::string tag = fs::path(target_so).stem().string() + "-" + variant;
  p.base_file = ws.dir / (tag + ".base.so");
  p.target_file = ws.dir / (tag + ".target.so");
  fs::copy_file(base_so, p.base_file, fs::copy_options::overwrite_existing);
  fs::copy_file(target_so, p.target_file, fs::copy_options::overwrite_existing);
  if (variant == "stripped") {
    // The command cmake/GraftSplitDebug.cmake runs on release components.
    must_run({"objcopy", "--strip-unneeded", p.base_file.string()});
    must_run({"objcopy", "--strip-unneeded", p.target_file.string()});
  }
  p.base = read_file(p.base_file);
  p.target = read_file(p.target_file);
  p.full_zst = zstd_full_size(p.target);
  p.bsdiff_patch = ws.dir / (tag + ".bsdiff");
  must_run({"bsdiff", p.base_file.string(), p.target_file.string(), p.bsdiff_patch.string()});
  p.bsdiff = fs::file_size(p.bsdiff_patch);
  p.xdelta3_patch = ws.dir / (tag + ".xdelta3");
  must_run({"xdelta3", "-9", "-e", "-f", "-s", p.base_file.string(), p.target_file.string(),
            p.xdelta3_patch.string()});
  p.xdelta3 = fs::file_size(p.xdelta3_patch);
  if (graft::Status s = graft::detail::make_delta(p.base, p.target, &p.zstd_delta); !s) {
    throw std::runtime_error(s.message());
  }
  p.zstd = p.zstd_delta.size();
  return p;
}

void set_counters(benchmark::State& state, const Pair& p) {
  state.counters["full"] = static_cast<double>(p.target.size());
  state.counters["full_zst"] = static_cast<double>(p.full_zst);
  state.counters["bsdiff"] = static_cast<double>(p.bsdiff);
  state.counters["xdelta3"] = static_cast<double>(p.xdelta3);
  state.counters["zstd"] = static_cast<double>(p.zstd);
}

// Rebuild and verify, as the host does (rebuild_object): apply into a
// buffer of exactly the signed size, hashing each block as it is decoded
// (on a second thread from 1 MiB), then compare with the signed hash.
void rebuild_zstd(benchmark::State& state, const Pair* p, const std::string* expected_sha) {
  for (auto _ : state) {
    std::string out;
    std::string sha;
    if (graft::Status s =
            graft::detail::apply_delta(p->base, p->zstd_delta, p->target.size(), &out, &sha);
        !s) {
      state.SkipWithError(s.message().c_str());
      return;
    }
    if (sha != *expected_sha) {
      state.SkipWithError("rebuilt object differs");
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, *p);
}

// The two halves of rebuild_zstd, apart (sha256_only is also the check of
// a full object that arrives whole).
void apply_only(benchmark::State& state, const Pair* p) {
  for (auto _ : state) {
    std::string out;
    if (graft::Status s =
            graft::detail::apply_delta(p->base, p->zstd_delta, p->target.size(), &out);
        !s) {
      state.SkipWithError(s.message().c_str());
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, *p);
}

void sha256_only(benchmark::State& state, const Pair* p) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(graft::sha256_hex(p->target.data(), p->target.size()));
  }
  set_counters(state, *p);
}

void rebuild_tool(benchmark::State& state, const Pair* p, const Workspace* ws,
                  const std::string& tool) {
  const fs::path out = ws->dir / "rebuilt.so";
  for (auto _ : state) {
    const int rc =
        tool == "bsdiff"
            ? run({"bspatch", p->base_file.string(), out.string(), p->bsdiff_patch.string()})
            : run({"xdelta3", "-d", "-f", "-s", p->base_file.string(), p->xdelta3_patch.string(),
                   out.string()});
    if (rc != 0) {
      state.SkipWithError((tool + " failed").c_str());
      return;
    }
  }
  if (read_file(out) != p->target) state.SkipWithError((tool + " rebuilt another object").c_str());
  set_counters(state, *p);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const fs::path dir = GRAFT_BENCH_DELTA_DIR;
  struct Source {
    std::string label, base, target;
  };
  const std::vector<Source> sources = {
      {"origin_guard 26.3.1 -> 26.3.1 (a)", "origin_guard-26.3.1.so", "origin_guard-26.3.1-a.so"},
      {"greeter 1.0.0 -> 1.1.0", "greeter-1.0.0.so", "greeter-1.1.0.so"},
      {"counter 1.0.0 -> 2.0.0", "counter-1.0.0.so", "counter-2.0.0.so"},
      {"generated big 1.0.0 -> 1.0.0 (a), one-function fix", "big-1.0.0.so", "big-1.0.0-a.so"},
  };
  static Workspace ws;
  static std::vector<Pair> pairs;
  static std::vector<std::string> hashes;
  pairs.reserve(sources.size() * 2);
  hashes.reserve(sources.size() * 2);
  try {
    for (const auto& s : sources) {
      for (const char* variant : {"unstripped", "stripped"}) {
        pairs.push_back(measure(ws, s.label, variant, dir / s.base, dir / s.target));
        hashes.push_back(graft::sha256_hex(pairs.back().target.data(), pairs.back().target.size()));
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_delta: " << e.what() << "\n";
    return 1;
  }
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const Pair* p = &pairs[i];
    const std::string name = p->label + " [" + p->variant + "]";
    benchmark::RegisterBenchmark(("Rebuild/zstd/" + name).c_str(), rebuild_zstd, p, &hashes[i])
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("Rebuild/apply/" + name).c_str(), apply_only, p)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("Rebuild/sha256/" + name).c_str(), sha256_only, p)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("Rebuild/bsdiff/" + name).c_str(), rebuild_tool, p, &ws,
                                 std::string("bsdiff"))
        ->Unit(benchmark::kMillisecond)
        ->Iterations(5);
    benchmark::RegisterBenchmark(("Rebuild/xdelta3/" + name).c_str(), rebuild_tool, p, &ws,
                                 std::string("xdelta3"))
        ->Unit(benchmark::kMillisecond)
        ->Iterations(5);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
