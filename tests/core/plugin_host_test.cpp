// A program that does not link libgraft loads a plugin that embeds it: the
// call gate's thread pointer must work in a late-loaded library, with
// GRAFT_TLS_DYNAMIC, and with the default (initial-exec) TLS model when the
// program gives glibc's static TLS reserve the room for libgraft's block.
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

extern char** environ;

namespace graft::testing {
namespace {

using RunFn = int (*)(const char*, const char*);

void run_plugin(const char* file) {
  void* h = ::dlopen(file, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << ::dlerror();
  auto run = reinterpret_cast<RunFn>(::dlsym(h, "plugin_host_run"));
  ASSERT_NE(run, nullptr);
  TempDir dir;
  // greeter 1.0.0 answers tag(i) with i + 1000: two calls, 1001 + 1002.
  EXPECT_EQ(run(component_file("greeter-1.0.0.so").c_str(), dir.path().c_str()), 2003);
}

constexpr const char* kStaticTlsRoom = "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=4096";

// libgraft's TLS block holds each thread's record (~2.4 KB), more than glibc
// reserves by default for a late-loaded library reached through
// initial-exec: such a host needs the tunable (docs/embedding.md). Tunables
// are read at start, so this test runs itself again with it set.
TEST(PluginHostTest, DlopenedHostWithInitialExecTlsCallsGivenStaticTlsRoom) {
  if (std::getenv("GRAFT_PLUGIN_HOST_CHILD") != nullptr) {
    run_plugin(GRAFT_PLUGIN_HOST_IE);
    return;
  }
  std::vector<std::string> env{kStaticTlsRoom, "GRAFT_PLUGIN_HOST_CHILD=1"};
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string(*e).rfind("GLIBC_TUNABLES=", 0) != 0) env.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string self = "/proc/self/exe";
  std::string filter =
      "--gtest_filter=PluginHostTest.DlopenedHostWithInitialExecTlsCallsGivenStaticTlsRoom";
  char* argv[] = {self.data(), filter.data(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, envp.data()), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the plugin host failed with static TLS room given";
}

TEST(PluginHostTest, DlopenedHostWithInitialExecTlsAndNoRoomIsRefusedByTheLoader) {
  if (std::getenv("GLIBC_TUNABLES") != nullptr) GTEST_SKIP() << "GLIBC_TUNABLES is set";
  void* h = ::dlopen(GRAFT_PLUGIN_HOST_IE, RTLD_NOW | RTLD_LOCAL);
  ASSERT_EQ(h, nullptr) << "glibc's default static TLS reserve held libgraft's block";
  EXPECT_NE(std::string(::dlerror()).find("static TLS"), std::string::npos);
}

TEST(PluginHostTest, DlopenedHostWithDynamicTlsCalls) {
  run_plugin(GRAFT_PLUGIN_HOST_DYNAMIC);
}

}  // namespace
}  // namespace graft::testing
