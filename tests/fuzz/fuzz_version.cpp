// Version parsing: never crashes, and whatever parses prints in the one form
// that parses back to the same version.
#include <graft/version.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto v = graft::Version::parse(text, &error);
  if (!v) {
    if (error.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  const auto again = graft::Version::parse(v->to_string());
  if (!again || *again != *v) std::abort();
  const auto from_file = graft::Version::parse(v->file_suffix());
  if (!from_file || *from_file != *v) std::abort();
  if (v->is_response() && !(v->base() < *v)) std::abort();
  return 0;
}
