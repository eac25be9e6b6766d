// origin_host's request-target parsing: path and percent-decoded parameters.
#include "request_target.hpp"

#include <gtest/gtest.h>

namespace origin_host {
namespace {

TEST(RequestTarget, SplitsPathAndDecodesParameters) {
  const auto t = parse_request_target(
      "/check?from=https%3A%2F%2Fbank.example.attacker.test%2F&to=https%3A%2F%2Fbank.example%"
      "2Faccount%3Fa%3D1%26b%3D2");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->path, "/check");
  EXPECT_EQ(t->params.at("from"), "https://bank.example.attacker.test/");
  EXPECT_EQ(t->params.at("to"), "https://bank.example/account?a=1&b=2");
}

TEST(RequestTarget, PlusIsASpaceAndEmptyValuesAreKept) {
  const auto t = parse_request_target("/check?from=a+b&to=&flag");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->params.at("from"), "a b");
  EXPECT_EQ(t->params.at("to"), "");
  EXPECT_EQ(t->params.at("flag"), "");
}

TEST(RequestTarget, PathWithoutQueryHasNoParameters) {
  const auto t = parse_request_target("/status");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->path, "/status");
  EXPECT_TRUE(t->params.empty());
}

TEST(RequestTarget, RefusesWhatIsNotAnOriginFormTarget) {
  EXPECT_FALSE(parse_request_target("").has_value());
  EXPECT_FALSE(parse_request_target("*").has_value());
  EXPECT_FALSE(parse_request_target("check?from=x").has_value());
}

}  // namespace
}  // namespace origin_host
