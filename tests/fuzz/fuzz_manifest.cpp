// Manifest parsing: never throws or crashes; whatever parses prints back to
// JSON that parses to the same manifest.
#include <graft/manifest.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  graft::Manifest m;
  const graft::Status s = graft::Manifest::parse(text, &m);
  if (!s) {
    if (s.code() != graft::ErrorCode::bundle_invalid || s.message().empty()) std::abort();
    return 0;
  }
  graft::Manifest again;
  if (!graft::Manifest::parse(m.to_json(), &again)) std::abort();
  if (again.to_json() != m.to_json()) std::abort();
  return 0;
}
