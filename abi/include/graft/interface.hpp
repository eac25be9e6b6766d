// Binds a C function-table type to its interface id and major version, so
// that host and component name the interface the same way at compile time.
#pragma once

#include <cstdint>

namespace graft {

// Specialised by GRAFT_DECLARE_INTERFACE for each interface table type.
template <class Table>
struct InterfaceTraits;

}  // namespace graft

// In the interface's header, after the table struct:
//   GRAFT_DECLARE_INTERFACE(greeter_v1, "graft.example.greeter", 1)
#define GRAFT_DECLARE_INTERFACE(Table, Id, Major)   \
  template <>                                       \
  struct graft::InterfaceTraits<Table> {            \
    static constexpr const char* id = Id;           \
    static constexpr std::uint32_t major = (Major); \
  };
