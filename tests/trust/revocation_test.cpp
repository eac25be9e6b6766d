// Signed revocations on one host: the serving version rolls back to the
// previous one and is refused from then on, even after a restart; an
// unsigned, tampered or foreign revocation changes nothing.
#include "bundle_factory.hpp"

#include <graft/revocation.hpp>

#include <gtest/gtest.h>

namespace graft::testing {
namespace {

class RevocationTest : public TrustTest {
 protected:
  fs::path revocation_of(const std::string& version, const TestKey& key,
                         const std::string& name = "revoke") {
    Revocation r;
    r.component = "greeter";
    r.version = V(version);
    r.reason = "breaks web sites";
    const fs::path out = dir_ / name;
    EXPECT_TRUE(write_revocation(out, r, key.secret).ok());
    return out;
  }
};

TEST_F(RevocationTest, AServedVersionRollsBackAndIsRefusedFromThenOnEvenAfterARestart) {
  auto host = base_host();
  ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  ASSERT_TRUE(host->installer->commit("greeter").ok());
  ASSERT_EQ(host->serving(), "1.0.0 (a)");
  const Status s = host->installer->revoke(revocation_of("1.0.0 (a)", key_));
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(host->serving(), "1.0.0");
  EXPECT_EQ(host->tag(), kTagBase);
  Status again = host->installer->install(bundle_a());
  EXPECT_EQ(again.code(), ErrorCode::revoked) << again.message();
  EXPECT_NE(again.message().find("breaks web sites"), std::string::npos) << again.message();
  host.reset();
  host = start_host();
  again = host->installer->verify(bundle_a());
  EXPECT_EQ(again.code(), ErrorCode::revoked) << "a restart forgets no revocation";
  // A later response installs as usual.
  const Status b = host->installer->install(bundle_b());
  EXPECT_TRUE(b.ok()) << b.message();
}

TEST_F(RevocationTest, AfterARollbackLeftNoPreviousTheNewestGoodVersionKeptServes) {
  // 1.0.0 -> (a) -> (b), (b) rolled back: (a) serves and the state names
  // no previous of it. Revoking (a) goes back to 1.0.0, kept in the store.
  auto host = base_host();
  ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  ASSERT_TRUE(host->installer->commit("greeter").ok());
  ASSERT_TRUE(host->installer->install(bundle_b()).ok());
  ASSERT_TRUE(host->installer->rollback("greeter").ok());
  ASSERT_EQ(host->serving(), "1.0.0 (a)");
  const Status s = host->installer->revoke(revocation_of("1.0.0 (a)", key_));
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(host->serving(), "1.0.0");
  EXPECT_EQ(host->tag(), kTagBase);
}

TEST_F(RevocationTest, AVersionNotServedIsOnlyRecorded) {
  auto host = base_host();
  ASSERT_TRUE(host->installer->revoke(revocation_of("1.0.0 (a)", key_)).ok());
  EXPECT_EQ(host->serving(), "1.0.0");
  EXPECT_EQ(host->installer->install(bundle_a()).code(), ErrorCode::revoked);
}

TEST_F(RevocationTest, UnsignedTamperedOrForeignRevocationsChangeNothing) {
  auto host = base_host();
  ASSERT_TRUE(host->installer->install(bundle_a()).ok());
  const fs::path unsigned_one = revocation_of("1.0.0 (a)", key_, "unsigned");
  fs::remove(unsigned_one / "revocation.sig");
  Status s = host->installer->revoke(unsigned_one);
  EXPECT_EQ(s.code(), ErrorCode::bad_signature);
  EXPECT_NE(s.message().find("unsigned"), std::string::npos) << s.message();

  const fs::path tampered = revocation_of("1.0.0 (a)", key_, "tampered");
  std::string text = read_file(tampered / "revocation.json");
  text.replace(text.find("breaks web sites"), 5, "FIXES");
  write_file(tampered / "revocation.json", text);
  s = host->installer->revoke(tampered);
  EXPECT_EQ(s.code(), ErrorCode::bad_signature) << s.message();

  const TestKey foreign = make_key(dir_ / "foreign");
  s = host->installer->revoke(revocation_of("1.0.0 (a)", foreign, "foreign"));
  EXPECT_EQ(s.code(), ErrorCode::unknown_key) << s.message();

  EXPECT_EQ(host->serving(), "1.0.0 (a)");
  EXPECT_FALSE(RevocationList(state_dir()).revoked("greeter", V("1.0.0 (a)")));
}

}  // namespace
}  // namespace graft::testing
