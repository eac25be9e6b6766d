// Bundle verification over fuzzed files: the input is split into a
// manifest.json, a manifest.sig and a shared object written to a folder,
// and verified against a trusted key. Whatever the bytes, the verifier
// answers with a reason and never crashes; it never passes a bundle whose
// signature it was not given.
#include <graft/bundle_verifier.hpp>

#include <unistd.h>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct Setup {
  std::filesystem::path dir;
  std::string key_id;
  graft::BundleVerifier verifier{graft::TrustedKeys()};
  Setup() {
    dir = std::filesystem::temp_directory_path() /
          ("graft-fuzz-bundle-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "keys");
    std::filesystem::path sec, pub;
    if (!graft::generate_key_pair(dir / "keys", &sec, &pub)) std::abort();
    graft::TrustedKeys keys;
    if (!graft::TrustedKeys::load({pub}, &keys)) std::abort();
    graft::PublicKey k;
    if (!graft::read_public_key(pub, &k)) std::abort();
    key_id = k.key_id();
    verifier = graft::BundleVerifier(std::move(keys));
  }
  ~Setup() { std::filesystem::remove_all(dir); }
};

void write(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Setup setup;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // Parts separated by a NUL byte: manifest, signature, shared object.
  const auto a = in.find('\0');
  const auto b = a == std::string_view::npos ? a : in.find('\0', a + 1);
  // "KEYID" stands for the trusted key's id, so inputs reach the signature check.
  std::string manifest(in.substr(0, a));
  for (auto p = manifest.find("KEYID"); p != std::string::npos; p = manifest.find("KEYID")) {
    manifest.replace(p, 5, setup.key_id);
  }
  const std::string_view sig = a == std::string_view::npos ? "" : in.substr(a + 1, b - a - 1);
  const std::string_view so = b == std::string_view::npos ? "" : in.substr(b + 1);
  const auto bundle = setup.dir / "bundle";
  std::filesystem::remove_all(bundle);
  std::filesystem::create_directories(bundle);
  write(bundle / "manifest.json", manifest);
  write(bundle / "manifest.sig", sig);
  write(bundle / "component.so", so);
  graft::Manifest m;
  std::vector<graft::BundleCheck> checks;
  const graft::Status s = setup.verifier.verify(bundle, &m, &checks);
  // Without the secret key no input can carry a valid signature.
  if (s.ok()) std::abort();
  if (s.message().empty() || checks.empty() || checks.back().passed) std::abort();
  return 0;
}
