// Keys and signed bundles made at test time (Manifest + sign_detached):
// nothing generated is kept in git. The defaults describe a greeter build.
#pragma once

#include "greeter.h"
#include "test_support.hpp"

#include <graft/abi.h>
#include <graft/artifact_store.hpp>
#include <graft/manifest.hpp>
#include <graft/signing_key.hpp>

#include <ctime>
#include <stdexcept>
#include <string>

namespace graft::testing {

struct TestKey {
  fs::path secret_file;
  fs::path public_file;
  SecretKey secret;
  PublicKey public_key;
};

// Throws (failing the test that calls it) when the key cannot be made.
inline TestKey make_key(const fs::path& dir) {
  TestKey k;
  if (const Status s = generate_key_pair(dir, &k.secret_file, &k.public_file); !s) {
    throw std::runtime_error(s.message());
  }
  if (!read_secret_key(k.secret_file, &k.secret) ||
      !read_public_key(k.public_file, &k.public_key)) {
    throw std::runtime_error("cannot read back the key pair in " + dir.string());
  }
  return k;
}

// What goes into a bundle; the defaults describe a greeter build correctly.
struct BundleSpec {
  fs::path so;
  Version version;
  Version applies_to{1, 0, 0};
  std::string component = "greeter";
  std::uint32_t abi_version = GRAFT_ABI_VERSION;
  std::string interface_id = GREETER_INTERFACE_ID;
  std::uint32_t interface_major = GREETER_INTERFACE_MAJOR;
  std::time_t created = std::time(nullptr) - 60;
  std::time_t expires = std::time(nullptr) + 30 * 86400;
};

// Writes `out`/{<so's name>, manifest.json, manifest.sig}, signed by `key`;
// returns the manifest as written.
inline Manifest write_test_bundle(const fs::path& out, const BundleSpec& spec, const TestKey& key) {
  fs::create_directories(out);
  const fs::path copy = out / spec.so.filename();
  fs::copy_file(spec.so, copy, fs::copy_options::overwrite_existing);
  Manifest m;
  m.component = spec.component;
  m.version = spec.version;
  m.applies_to = spec.applies_to;
  m.abi_version = spec.abi_version;
  m.interface_id = spec.interface_id;
  m.interface_major = spec.interface_major;
  m.file = copy.filename().string();
  m.sha256 = sha256_file(copy, &m.size);
  m.created = spec.created;
  m.expires = spec.expires;
  m.key_id = key.public_key.key_id();
  const std::string text = m.to_json();
  write_file(out / "manifest.json", text);
  write_file(out / "manifest.sig", sign_detached(key.secret, text) + "\n");
  return m;
}

}  // namespace graft::testing
