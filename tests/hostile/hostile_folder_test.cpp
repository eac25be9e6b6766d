// Folders the host trusts what it finds in: a state directory or store that
// another user owns or can write is refused when the host starts (before a
// file in it is read), with a message that says whose it is or who can
// write it and what to do.
#include "bundle_factory.hpp"
#include "hostile_support.hpp"

namespace graft::testing {
namespace {

class HostileFolder : public TrustTest {
 protected:
  // Opening a runtime on the state folder: the error text, "" if it opened.
  std::string open_error() {
    LogCapture log;
    try {
      auto rt = Runtime::open(test_options(state_dir(), log.logger));
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(HostileFolder, StateDirectoryOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown to another user needs root";
  fs::create_directories(state_dir());
  ASSERT_EQ(::chown(state_dir().c_str(), 65534, 65534), 0);
  const std::string error = open_error();
  EXPECT_NE(error.find("state directory '" + state_dir().string() + "' belongs to uid 65534"),
            std::string::npos)
      << error;
  EXPECT_TRUE(fs::is_empty(state_dir())) << "something was written into it";
}

TEST_F(HostileFolder, StateDirectoryWritableByItsGroupIsRefused) {
  fs::create_directories(state_dir());
  fs::permissions(state_dir(), fs::perms::group_write, fs::perm_options::add);
  const std::string error = open_error();
  EXPECT_NE(error.find("is writable by its group"), std::string::npos) << error;
  EXPECT_NE(error.find("chmod go-w"), std::string::npos) << error;
  EXPECT_TRUE(fs::is_empty(state_dir()));
}

TEST_F(HostileFolder, StoreWritableByOthersIsRefused) {
  fs::create_directories(state_dir() / "store");
  fs::permissions(state_dir(), fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
  fs::permissions(state_dir() / "store", fs::perms::others_write, fs::perm_options::add);
  const std::string error = open_error();
  EXPECT_NE(error.find("store directory '" + (state_dir() / "store").string() +
                       "' is writable by others"),
            std::string::npos)
      << error;
}

TEST_F(HostileFolder, StoreOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown to another user needs root";
  fs::create_directories(state_dir() / "store");
  fs::permissions(state_dir(), fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
  ASSERT_EQ(::chown((state_dir() / "store").c_str(), 65534, 65534), 0);
  const std::string error = open_error();
  EXPECT_NE(error.find("belongs to uid 65534"), std::string::npos) << error;
}

TEST_F(HostileFolder, FoldersTheHostMakesAreOwnerOnlyWhateverTheUmask) {
  const mode_t old = ::umask(0);
  const std::string error = open_error();
  ::umask(old);
  EXPECT_EQ(error, "");
  EXPECT_EQ(fs::status(state_dir()).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(state_dir() / "store").permissions() & fs::perms::all, fs::perms::owner_all);
}

}  // namespace
}  // namespace graft::testing
