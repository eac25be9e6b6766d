// Makes signed bundles at test time (keys too): nothing generated is kept in git.
#pragma once

#include <graft/artifact_store.hpp>
#include <graft/manifest.hpp>
#include <graft/signing_key.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace graft::testing {

struct TestKey {
  std::filesystem::path secret_file;
  std::filesystem::path public_file;
  SecretKey secret;
};

inline TestKey make_test_key(const std::filesystem::path& dir) {
  TestKey k;
  if (!generate_key_pair(dir, &k.secret_file, &k.public_file) ||
      !read_secret_key(k.secret_file, &k.secret)) {
    throw std::runtime_error("cannot make a test key in " + dir.string());
  }
  return k;
}

struct BundleSpec {
  std::string component;
  std::string version;
  std::string applies_to;
  std::string interface_id;
  std::uint32_t interface_major = 1;
  std::uint32_t abi_version = 1;
  std::chrono::seconds valid_for{3600};
};

// Writes <dir>/ with the shared object, manifest.json and manifest.sig.
inline std::filesystem::path make_bundle(const std::filesystem::path& dir,
                                         const std::filesystem::path& so, const BundleSpec& spec,
                                         const TestKey& key) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  fs::copy_file(so, dir / so.filename(), fs::copy_options::overwrite_existing);
  Manifest m;
  m.component = spec.component;
  m.version = *Version::parse(spec.version);
  m.applies_to = *Version::parse(spec.applies_to);
  m.abi_version = spec.abi_version;
  m.interface_id = spec.interface_id;
  m.interface_major = spec.interface_major;
  m.file = so.filename().string();
  m.sha256 = sha256_file(so, &m.size);
  m.created = std::time(nullptr);
  m.expires = m.created + spec.valid_for.count();
  m.key_id = key.secret.public_key().key_id();
  const std::string text = m.to_json();
  std::ofstream(dir / "manifest.json", std::ios::binary) << text;
  std::ofstream(dir / "manifest.sig", std::ios::binary) << sign_detached(key.secret, text) << "\n";
  return dir;
}

}  // namespace graft::testing
