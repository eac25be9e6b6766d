// The descriptor check against fuzzed descriptors: sizes, ABI versions,
// strings (with and without terminators), interface ids, table sizes and
// entries. The descriptor is copied into a heap block of exactly the size it
// declares, so AddressSanitizer catches any read beyond it.
#include "descriptor_check.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

struct Reader {
  const std::uint8_t* p;
  std::size_t n;
  template <class T>
  T take() {
    T v{};
    const std::size_t k = n < sizeof(T) ? n : sizeof(T);
    std::memcpy(&v, p, k);
    p += k;
    n -= k;
    return v;
  }
  // A string of the fuzzer's choosing; sometimes without a terminator inside its block.
  std::vector<char> string_block() {
    const std::size_t len = take<std::uint8_t>() % 300;
    const bool terminate = take<std::uint8_t>() % 8 != 0;
    std::vector<char> s(len + (terminate ? 1 : 0), 'x');
    for (std::size_t i = 0; i < len && n > 0; ++i)
      s[i] = static_cast<char>(take<std::uint8_t>());
    if (terminate) s[len] = '\0';
    return s;
  }
};

void no_op(void*) {}
graft_status no_create(const graft_host_services*, void**, graft_error*) {
  return GRAFT_OK;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in{data, size};
  graft_component_descriptor d{};
  std::uint32_t declared = in.take<std::uint32_t>() % (sizeof(graft_component_descriptor) + 16);
  if (declared < 8) declared = 8;  // the two leading fields always exist
  d.struct_size = declared;
  d.abi_version = in.take<std::uint8_t>() % 4 == 0 ? in.take<std::uint32_t>() : GRAFT_ABI_VERSION;
  std::vector<char> name = in.string_block();
  std::vector<char> version = in.string_block();
  std::vector<char> iface = in.string_block();
  const std::uint8_t nulls = in.take<std::uint8_t>();
  // A string must be NUL-terminated within its own block, or the check would
  // read past it; an unterminated one gets a terminator one byte later.
  for (auto* s : {&name, &version, &iface}) {
    if (s->empty() || s->back() != '\0') s->push_back('\0');
  }
  d.component_name = (nulls & 1) ? nullptr : name.data();
  d.component_version = (nulls & 2) ? nullptr : version.data();
  d.interface_id = (nulls & 4) ? nullptr : iface.data();
  d.interface_major = in.take<std::uint8_t>() % 3;
  const std::uint32_t entries = in.take<std::uint8_t>() % 8;
  std::vector<void (*)()> table(entries);
  for (auto& e : table) {
    e = in.take<std::uint8_t>() % 5 == 0 ? nullptr : reinterpret_cast<void (*)()>(&no_op);
  }
  d.table_size = in.take<std::uint8_t>() % 2 ? static_cast<std::uint32_t>(entries * sizeof(void*))
                                             : in.take<std::uint32_t>() % 64;
  if (d.table_size > entries * sizeof(void*)) d.table_size = entries * sizeof(void*);
  d.table = entries ? table.data() : nullptr;
  d.create = (nulls & 8) ? nullptr : &no_create;
  d.destroy = (nulls & 16) ? nullptr : &no_op;
  d.self_test = nullptr;
  d.state_schema = in.take<std::uint32_t>();

  graft::SlotSpec spec;
  spec.component = in.take<std::uint8_t>() % 2 ? std::string(name.data()) : "greeter";
  spec.interface_id =
      in.take<std::uint8_t>() % 2 ? std::string(iface.data()) : "graft.example.greeter";
  spec.interface_major = in.take<std::uint8_t>() % 3;
  spec.table_size = (in.take<std::uint8_t>() % 8) * static_cast<std::uint32_t>(sizeof(void*));

  // Exactly `declared` bytes: reading a field past them is an ASan report.
  const std::size_t bytes = declared < sizeof d ? declared : sizeof d;
  auto* block = static_cast<graft_component_descriptor*>(std::malloc(bytes));
  std::memcpy(block, &d, bytes);
  graft::detail::DescriptorFacts facts;
  const graft::Status s = graft::detail::check_descriptor(block, spec, "fuzz", &facts);
  if (s.ok()) {
    // Whatever passes is consistent with the slot it was checked for.
    if (facts.name != spec.component || facts.interface_id != spec.interface_id ||
        d.table_size < spec.table_size) {
      std::abort();
    }
  } else if (s.message().empty()) {
    std::abort();
  }
  std::free(block);
  return 0;
}
