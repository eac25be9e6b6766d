// Versions: every accepted spelling, the one printed form, the order, the
// cumulative-response rule, and parse errors that name the text.
#include <graft/version.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace graft {
namespace {

Version parsed(const std::string& text) {
  std::string error;
  const auto v = Version::parse(text, &error);
  EXPECT_TRUE(v.has_value()) << "'" << text << "': " << error;
  return v.value_or(Version());
}

TEST(VersionTest, EverySpellingOfAResponseParsesToTheSameVersion) {
  const Version expected(26, 3, 1, 'a');
  for (const char* text : {"26.3.1 (a)", "26.3.1(a)", "26.3.1-a", "  26.3.1 (a)  "}) {
    EXPECT_EQ(parsed(text), expected) << text;
  }
}

TEST(VersionTest, BaseReleaseParsesWithoutALetter) {
  const Version v = parsed("26.3.1");
  EXPECT_EQ(v.major(), 26u);
  EXPECT_EQ(v.minor(), 3u);
  EXPECT_EQ(v.patch(), 1u);
  EXPECT_FALSE(v.is_response());
  EXPECT_EQ(v.response(), '\0');
  EXPECT_EQ(parsed("0.0.0"), Version(0, 0, 0));
  EXPECT_EQ(parsed("4294967295.0.1"), Version(4294967295u, 0, 1));
}

TEST(VersionTest, PrintsOneFormWhateverTheInput) {
  EXPECT_EQ(parsed("26.3.1-b").to_string(), "26.3.1 (b)");
  EXPECT_EQ(parsed("26.3.1(b)").to_string(), "26.3.1 (b)");
  EXPECT_EQ(parsed("26.3.1").to_string(), "26.3.1");
  EXPECT_EQ(parsed("26.3.1 (b)").file_suffix(), "26.3.1-b");
  EXPECT_EQ(parsed("26.3.1").file_suffix(), "26.3.1");
  // Printing and parsing round-trip.
  for (const char* text : {"1.2.3", "1.2.3 (z)", "0.0.0 (a)"}) {
    EXPECT_EQ(parsed(parsed(text).to_string()), parsed(text)) << text;
  }
}

TEST(VersionTest, ResponsesSortBetweenTheirBaseAndTheNextPatch) {
  const std::vector<Version> ordered = {
      parsed("26.3.0"),     parsed("26.3.0 (z)"), parsed("26.3.1"), parsed("26.3.1 (a)"),
      parsed("26.3.1 (b)"), parsed("26.3.2"),     parsed("26.4.0"), parsed("27.0.0")};
  for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
    EXPECT_LT(ordered[i], ordered[i + 1])
        << ordered[i].to_string() << " < " << ordered[i + 1].to_string();
    EXPECT_GT(ordered[i + 1], ordered[i]);
    EXPECT_NE(ordered[i], ordered[i + 1]);
  }
  std::vector<Version> shuffled = ordered;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(42));
  std::sort(shuffled.begin(), shuffled.end());
  EXPECT_EQ(shuffled, ordered);
  // Numbers compare as numbers, not text.
  EXPECT_LT(parsed("26.3.9"), parsed("26.3.10"));
}

TEST(VersionTest, BaseOfAResponseIsItsRelease) {
  EXPECT_EQ(parsed("26.3.1 (b)").base(), parsed("26.3.1"));
  EXPECT_EQ(parsed("26.3.1").base(), parsed("26.3.1"));
}

TEST(VersionTest, ResponsesAreCumulativeAndInstallOnlyOverTheirOwnBase) {
  const Version base = parsed("26.3.1"), a = parsed("26.3.1 (a)"), b = parsed("26.3.1 (b)");
  EXPECT_TRUE(a.installs_over(base));
  EXPECT_TRUE(b.installs_over(base));  // (b) carries (a)'s fixes
  EXPECT_TRUE(b.installs_over(a));
  EXPECT_FALSE(a.installs_over(b));  // an earlier letter is older
  EXPECT_FALSE(a.installs_over(a));
  // Never over another base, older or newer.
  EXPECT_FALSE(a.installs_over(parsed("26.3.0")));
  EXPECT_FALSE(a.installs_over(parsed("26.3.0 (c)")));
  EXPECT_FALSE(parsed("26.3.2 (a)").installs_over(b));
  EXPECT_FALSE(a.installs_over(parsed("26.3.2")));
  // A newer base release installs over anything older, responses included.
  EXPECT_TRUE(parsed("26.3.2").installs_over(b));
  EXPECT_TRUE(parsed("26.3.2").installs_over(base));
  EXPECT_FALSE(base.installs_over(a));  // going back to the base is a rollback
  EXPECT_FALSE(base.installs_over(base));
}

TEST(VersionTest, ParseErrorsNameTheOffendingText) {
  for (const char* text : {"", "26", "26.3", "26.3.1.4", "26.3.x", "26.03.1", "v26.3.1",
                           "26.3.1 (A)", "26.3.1 (ab)", "26.3.1 (a", "26.3.1 a", "26.3.1-",
                           "26.3.1-ab", "26.3.1 (a) extra", "4294967296.0.0", "-1.0.0"}) {
    std::string error;
    EXPECT_FALSE(Version::parse(text, &error).has_value()) << "'" << text << "' was accepted";
    EXPECT_NE(error.find("'" + std::string(text) + "'"), std::string::npos)
        << "error for '" << text << "' does not name it: " << error;
  }
}

TEST(VersionTest, ParseWithoutAnErrorStringStillFails) {
  EXPECT_FALSE(Version::parse("not a version").has_value());
}

}  // namespace
}  // namespace graft
