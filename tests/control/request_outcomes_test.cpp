// The table behind at-most-once control requests: a retry gets the first
// outcome, a reused id for another request is a conflict, and the table
// stays bounded.
#include "control/request_outcomes.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace graft::control {
namespace {

TEST(RequestOutcomes, RetryGetsTheFirstOutcomeAndDoesNotRunAgain) {
  RequestOutcomes table;
  std::vector<std::string> answers;
  auto reply = [&](std::string s) { answers.push_back(std::move(s)); };
  EXPECT_EQ(table.admit(7, "rollback g", reply), RequestOutcomes::Admit::first);
  // A retry while the first still runs waits for its outcome.
  EXPECT_EQ(table.admit(7, "rollback g", reply), RequestOutcomes::Admit::duplicate);
  EXPECT_TRUE(answers.empty());
  table.finish(7, "first outcome");
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0], "first outcome");
  // A retry after it finished is answered at once.
  EXPECT_EQ(table.admit(7, "rollback g", reply), RequestOutcomes::Admit::duplicate);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[1], "first outcome");
  // The same id for another request.
  EXPECT_EQ(table.admit(7, "commit g", reply), RequestOutcomes::Admit::conflict);
  EXPECT_EQ(answers.size(), 2u);
}

TEST(RequestOutcomes, KeepsAtMostItsLimitOfFinishedOutcomes) {
  RequestOutcomes table;
  auto ignore = [](std::string) {};
  const std::uint64_t n = RequestOutcomes::kMaxEntries + 100;
  for (std::uint64_t id = 1; id <= n; ++id) {
    ASSERT_EQ(table.admit(id, "x", ignore), RequestOutcomes::Admit::first);
    table.finish(id, "done");
  }
  EXPECT_LE(table.size(), RequestOutcomes::kMaxEntries + 1);
  // The oldest were forgotten; the newest are still known.
  EXPECT_EQ(table.admit(1, "x", ignore), RequestOutcomes::Admit::first);
  EXPECT_EQ(table.admit(n, "x", ignore), RequestOutcomes::Admit::duplicate);
}

}  // namespace
}  // namespace graft::control
