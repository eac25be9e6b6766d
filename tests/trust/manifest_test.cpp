// manifest.json: every field present with its type and form, or a
// bundle_invalid status that names the field; UTC times both ways.
#include <graft/manifest.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace graft {
namespace {

using nlohmann::json;

Manifest sample() {
  Manifest m;
  m.component = "greeter";
  m.version = Version(26, 3, 1, 'a');
  m.applies_to = Version(26, 3, 1);
  m.abi_version = 1;
  m.interface_id = "graft.example.greeter";
  m.interface_major = 1;
  m.file = "greeter-26.3.1-a.so";
  m.sha256 = std::string(64, 'a');
  m.size = 16384;
  parse_utc("2026-11-27T20:40:00Z", &m.created);
  parse_utc("2026-12-27T20:40:00Z", &m.expires);
  m.key_id = "0123456789abcdef";
  return m;
}

json sample_json() {
  return json::parse(sample().to_json());
}

Status parse_json(const json& j) {
  Manifest out;
  return Manifest::parse(j.dump(), &out);
}

void expect_invalid(const json& j, const std::string& names) {
  const Status s = parse_json(j);
  EXPECT_EQ(s.code(), ErrorCode::bundle_invalid) << j.dump();
  EXPECT_NE(s.message().find(names), std::string::npos)
      << "message does not name '" << names << "': " << s.message();
}

const char* const kFields[] = {"format",      "component",    "version",         "applies_to",
                               "abi_version", "interface_id", "interface_major", "file",
                               "sha256",      "size",         "created",         "expires",
                               "key_id"};

TEST(ManifestTest, RoundTripsThroughItsCanonicalJson) {
  const Manifest m = sample();
  const std::string text = m.to_json();
  Manifest back;
  const Status s = Manifest::parse(text, &back);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(back.to_json(), text);
  EXPECT_EQ(back.component, "greeter");
  EXPECT_EQ(back.version, Version(26, 3, 1, 'a'));
  EXPECT_EQ(back.applies_to, Version(26, 3, 1));
  EXPECT_EQ(back.size, 16384u);
  EXPECT_EQ(back.created, m.created);
  EXPECT_EQ(back.expires, m.expires);
  EXPECT_EQ(text.back(), '\n');
}

TEST(ManifestTest, WritesTheDocumentedFieldsAndForms) {
  const json j = sample_json();
  EXPECT_EQ(j.size(), std::size(kFields));
  for (const char* field : kFields)
    EXPECT_TRUE(j.contains(field)) << field;
  EXPECT_EQ(j["format"], "graft-bundle/1");
  EXPECT_EQ(j["version"], "26.3.1 (a)");
  EXPECT_EQ(j["applies_to"], "26.3.1");
  EXPECT_EQ(j["created"], "2026-11-27T20:40:00Z");
  EXPECT_EQ(j["expires"], "2026-12-27T20:40:00Z");
  EXPECT_TRUE(j["abi_version"].is_number_unsigned());
  EXPECT_TRUE(j["size"].is_number_unsigned());
}

TEST(ManifestTest, EveryMissingFieldIsNamed) {
  for (const char* field : kFields) {
    json j = sample_json();
    j.erase(field);
    expect_invalid(j, "missing field '" + std::string(field) + "'");
  }
}

TEST(ManifestTest, StringFieldsOfAnotherTypeAreNamed) {
  for (const char* field : {"format", "component", "version", "applies_to", "interface_id", "file",
                            "sha256", "created", "expires", "key_id"}) {
    json j = sample_json();
    j[field] = 7;
    expect_invalid(j, "field '" + std::string(field) + "' must be a string");
    j[field] = "";
    expect_invalid(j, std::string(field));
  }
}

TEST(ManifestTest, NumberFieldsOfAnotherTypeAreNamed) {
  for (const char* field : {"abi_version", "interface_major", "size"}) {
    for (const json& wrong : {json("1"), json(-1), json(1.5), json(true), json::array()}) {
      json j = sample_json();
      j[field] = wrong;
      expect_invalid(j, "field '" + std::string(field) + "' must be a whole number");
    }
  }
  json j = sample_json();
  j["abi_version"] = std::uint64_t{1} << 33;
  expect_invalid(j, "'abi_version' is out of range");
}

TEST(ManifestTest, BadVersionsAreNamedWithTheirText) {
  json j = sample_json();
  j["version"] = "26.3";
  expect_invalid(j, "version: invalid version '26.3'");
  j = sample_json();
  j["applies_to"] = "twenty-six";
  expect_invalid(j, "applies_to: invalid version 'twenty-six'");
  j = sample_json();
  j["applies_to"] = "26.3.1 (a)";  // a response patches a base release, not a response
  expect_invalid(j, "applies_to must be a base release");
}

TEST(ManifestTest, BadTimesAreNamedWithTheirText) {
  for (const char* text :
       {"2026-11-27 20:40:00", "2026-11-27T20:40:00", "2026-11-27T20:40:00+01:00",
        "2026-02-31T00:00:00Z", "2026-11-27T25:00:00Z", "yesterday"}) {
    json j = sample_json();
    j["expires"] = text;
    expect_invalid(j, "expires '" + std::string(text) + "'");
    j = sample_json();
    j["created"] = text;
    expect_invalid(j, "created '" + std::string(text) + "'");
  }
}

TEST(ManifestTest, OtherFormsOfTheRemainingFieldsAreRefused) {
  json j = sample_json();
  j["format"] = "graft-bundle/2";
  expect_invalid(j, "format 'graft-bundle/2'");
  j = sample_json();
  j["sha256"] = std::string(64, 'A');
  expect_invalid(j, "sha256");
  j = sample_json();
  j["sha256"] = "abc";
  expect_invalid(j, "sha256");
  j = sample_json();
  j["key_id"] = "not-a-key-id";
  expect_invalid(j, "key_id");
  j = sample_json();
  j["file"] = "../../etc/evil.so";
  expect_invalid(j, "file '../../etc/evil.so'");
}

TEST(ManifestTest, TextThatIsNotAJsonObjectIsRefused) {
  Manifest m;
  EXPECT_EQ(Manifest::parse("", &m).code(), ErrorCode::bundle_invalid);
  EXPECT_EQ(Manifest::parse("{\"component\":", &m).code(), ErrorCode::bundle_invalid);
  const Status s = Manifest::parse("[1, 2]", &m);
  EXPECT_EQ(s.code(), ErrorCode::bundle_invalid);
  EXPECT_NE(s.message().find("not a JSON object"), std::string::npos) << s.message();
}

TEST(ManifestTest, UtcTimesRoundTrip) {
  std::time_t t = 0;
  ASSERT_TRUE(parse_utc("2026-11-27T20:40:00Z", &t));
  EXPECT_EQ(format_utc(t), "2026-11-27T20:40:00Z");
  ASSERT_TRUE(parse_utc("1970-01-01T00:00:00Z", &t));
  EXPECT_EQ(t, 0);
  EXPECT_FALSE(parse_utc("2026-11-27T20:40Z", &t));
}

}  // namespace
}  // namespace graft
