// A host outside the graft tree: loads shout 1.0.0, calls it from a thread,
// swaps to 1.0.1 live, and exits 0 only if no call failed and the new
// version answers.
#include "shout.h"

#include <graft/runtime.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s OLD.so NEW.so\n", argv[0]);
    return 2;
  }
  graft::RuntimeOptions options;
  options.state_dir =
      std::filesystem::temp_directory_path() / ("external_host-" + std::to_string(::getpid()));
  options.probation = std::chrono::milliseconds(0);
  auto runtime = graft::Runtime::open(options);
  auto& shout = runtime->slot<shout_v1>("shout");
  if (graft::Status s = shout.load(argv[1]); !s) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  std::atomic<bool> stop{false};
  std::atomic<long> calls{0}, failed{0};
  std::thread caller([&] {
    char out[64];
    while (!stop) {
      if (shout.call(&shout_v1::shout, "graft", out, sizeof out) != GRAFT_OK) ++failed;
      ++calls;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const graft::Status swapped = shout.swap(argv[2]);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  caller.join();
  char out[64] = "";
  const graft_status last = shout.call(&shout_v1::shout, "graft", out, sizeof out);
  std::printf("swap: %s; serving %s; last answer '%s'; %ld calls, %ld failed\n",
              swapped ? "ok" : swapped.message().c_str(), shout.status().version.c_str(), out,
              calls.load(), failed.load());
  runtime.reset();
  std::filesystem::remove_all(options.state_dir);
  return swapped && last == GRAFT_OK && std::strcmp(out, "GRAFT!!!") == 0 && failed == 0 ? 0 : 1;
}
