// origin_guard in both versions, loaded through graft::Runtime and a Slot:
// a table of same-origin cases, the host prefix-match bug of 26.3.1
// (GRAFT-2026-0001) and its fix in 26.3.1 (a).
#include "origin_guard.h"
#include "test_support.hpp"

#include <graft/runtime.hpp>

#include <gtest/gtest.h>

#include <clocale>
#include <string>
#include <vector>

namespace graft::testing {
namespace {

struct OriginCase {
  const char* from;
  const char* to;
  bool same_origin;    // what the WHATWG URL standard says
  bool hit_by_prefix;  // 26.3.1 gets it wrong (the advisory's bug)
};

const std::vector<OriginCase> kCases = {
    {"https://example.com/a", "https://example.com/b?q=1#f", true, false},
    {"https://EXAMPLE.com/", "https://example.COM/x", true, false},
    {"HTTPS://example.com/", "https://example.com/", true, false},
    {"https://example.com/", "https://example.com:443/", true, false},
    {"http://example.com/", "http://example.com:80/", true, false},
    {"http://example.com/", "http://example.com:8080/", false, false},
    {"http://example.com:8080/", "http://example.com:8081/", false, false},
    {"http://example.com/", "https://example.com/", false, false},
    {"https://example.com/", "http://example.com:443/", false, false},
    {"https://user:secret@example.com/", "https://example.com/", true, false},
    {"https://example.com/", "https://other@example.com:443/", true, false},
    {"http://[::1]:8080/", "http://[0:0::1]:8080/x", true, false},
    {"http://[::1]/", "http://[::2]/", false, false},
    {"http://[::1]/", "http://127.0.0.1/", false, false},
    {"http://127.0.0.1/", "http://0x7f.1/", true, false},
    {"http://ex%61mple.com/", "http://example.com/", true, false},
    {"http://b\xC3\xBC"
     "cher.example/",
     "http://xn--bcher-kva.example/", true, false},
    {"ws://example.com/", "ws://example.com:80/", true, false},
    {"wss://example.com/", "wss://example.com:443/", true, false},
    {"wss://example.com/", "https://example.com/", false, false},
    {"ftp://example.com/", "ftp://example.com:21/", true, false},
    {"https://example.com/", "https://www.example.com/", false, false},
    {"https://www.example.com/", "https://example.com/", false, false},
    {"https://bank.example/", "https://bank.example.attacker.test/", false, false},
    {"https://bank.example.attacker.test/", "https://bank.example/account", false, true},
    {"https://BANK.EXAMPLE.attacker.test/", "https://bank.example/", false, true},
    {"https://example.com./", "https://example.com/", false, true},
    {"data:text/html,hello", "data:text/html,hello", false, false},
    {"https://example.com/", "data:text/html,hello", false, false},
    {"file:///etc/passwd", "file:///etc/passwd", false, false},
    {"about:blank", "about:blank", false, false},
    {"https://example.com/", "javascript:alert(1)", false, false},
    {"foo://example.com/", "foo://example.com/", false, false},
    {"blob:https://example.com/0b9e", "https://example.com/", false, false},
    {"example.com", "https://example.com/", false, false},
    {"https://example.com/", "https://example.com:99999/", false, false},
};

constexpr const char* kExploitFrom = "https://bank.example.attacker.test/";
constexpr const char* kExploitTo = "https://bank.example/account";

class OriginGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // IDN hosts reach punycode only under a UTF-8 locale (libidn2).
    std::setlocale(LC_CTYPE, "C.UTF-8");
    runtime_ = Runtime::open(test_options(dir_.path(), log_.logger));
  }

  Slot<navigation_policy_v1>& guard() {
    return runtime_->slot<navigation_policy_v1>("origin_guard");
  }

  origin_guard_verdict check(const char* from, const char* to) {
    origin_guard_verdict verdict{};
    EXPECT_EQ(guard().call(&navigation_policy_v1::check_navigation, from, to, &verdict), GRAFT_OK);
    return verdict;
  }

  // The cases this version decides differently from the standard.
  std::vector<std::string> wrong_decisions() {
    std::vector<std::string> wrong;
    for (const auto& c : kCases) {
      const auto verdict = check(c.from, c.to);
      EXPECT_STRNE(verdict.reason, "") << c.from << " -> " << c.to;
      if ((verdict.decision == ORIGIN_GUARD_ALLOW) != c.same_origin) {
        wrong.push_back(std::string(c.from) + " -> " + c.to);
      }
    }
    return wrong;
  }

  static std::vector<std::string> prefix_bug_cases() {
    std::vector<std::string> hit;
    for (const auto& c : kCases) {
      if (c.hit_by_prefix) hit.push_back(std::string(c.from) + " -> " + c.to);
    }
    return hit;
  }

  TempDir dir_;
  LogCapture log_;
  std::unique_ptr<Runtime> runtime_;
};

TEST_F(OriginGuardTest, FixedVersionDecidesEveryCaseAsTheStandardSays) {
  ASSERT_TRUE(guard().load(component_file("origin_guard-26.3.1-a.so")).ok());
  EXPECT_EQ(wrong_decisions(), std::vector<std::string>{});
}

TEST_F(OriginGuardTest, AffectedVersionGetsExactlyTheHostPrefixCasesWrong) {
  ASSERT_TRUE(guard().load(component_file("origin_guard-26.3.1.so")).ok());
  EXPECT_EQ(wrong_decisions(), prefix_bug_cases());
}

TEST_F(OriginGuardTest, AffectedVersionLetsAPrefixedHostReadTheTarget) {
  ASSERT_TRUE(guard().load(component_file("origin_guard-26.3.1.so")).ok());
  const auto verdict = check(kExploitFrom, kExploitTo);
  EXPECT_EQ(verdict.decision, ORIGIN_GUARD_ALLOW);
  EXPECT_STREQ(verdict.version, "26.3.1");
}

TEST_F(OriginGuardTest, FixedVersionDeniesAPrefixedHostAndSaysWhy) {
  ASSERT_TRUE(guard().load(component_file("origin_guard-26.3.1-a.so")).ok());
  const auto verdict = check(kExploitFrom, kExploitTo);
  EXPECT_EQ(verdict.decision, ORIGIN_GUARD_DENY);
  EXPECT_STREQ(verdict.version, "26.3.1 (a)");
  EXPECT_NE(std::string(verdict.reason).find("host"), std::string::npos) << verdict.reason;
}

TEST_F(OriginGuardTest, LiveSwapToTheResponseClosesTheHole) {
  ASSERT_TRUE(guard().load(component_file("origin_guard-26.3.1.so")).ok());
  EXPECT_EQ(check(kExploitFrom, kExploitTo).decision, ORIGIN_GUARD_ALLOW);
  ASSERT_TRUE(guard().swap(component_file("origin_guard-26.3.1-a.so")).ok());
  EXPECT_EQ(guard().status().version, "26.3.1 (a)");
  const auto after = check(kExploitFrom, kExploitTo);
  EXPECT_EQ(after.decision, ORIGIN_GUARD_DENY);
  EXPECT_STREQ(after.version, "26.3.1 (a)");
  EXPECT_EQ(check("https://example.com/", "https://example.com:443/").decision, ORIGIN_GUARD_ALLOW);
  // The old version really goes, although it pulled libcurl in with it.
  ASSERT_TRUE(eventually([&] { return guard().status().versions.size() == 1; }));
  EXPECT_EQ(guard().status().stayed_mapped, std::vector<std::string>{});
}

TEST_F(OriginGuardTest, NullArgumentsAreRefusedNotCrashed) {
  ASSERT_TRUE(guard().load(component_file("origin_guard-26.3.1-a.so")).ok());
  origin_guard_verdict verdict{};
  EXPECT_EQ(guard().call(&navigation_policy_v1::check_navigation, static_cast<const char*>(nullptr),
                         "https://example.com/", &verdict),
            GRAFT_E_INVALID_ARGUMENT);
  EXPECT_EQ(guard().call(&navigation_policy_v1::check_navigation, "https://example.com/",
                         "https://example.com/", static_cast<origin_guard_verdict*>(nullptr)),
            GRAFT_E_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace graft::testing
