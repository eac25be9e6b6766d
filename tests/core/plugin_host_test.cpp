// A program that does not link libgraft loads a plugin that embeds it: the
// call gate's thread pointer must work in a late-loaded library, with the
// default TLS model and with GRAFT_TLS_DYNAMIC.
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <dlfcn.h>

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

TEST(PluginHostTest, DlopenedHostWithInitialExecTlsCalls) {
  run_plugin(GRAFT_PLUGIN_HOST_IE);
}

TEST(PluginHostTest, DlopenedHostWithDynamicTlsCalls) {
  run_plugin(GRAFT_PLUGIN_HOST_DYNAMIC);
}

}  // namespace
}  // namespace graft::testing
