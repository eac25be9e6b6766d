// `graftctl new-component`: writes a buildable component skeleton for an
// interface header (source, CMakeLists.txt, a test that loads it).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace graftctl {

// One function of an interface table, as read from its C header.
struct InterfaceFunction {
  std::string name;
  std::string parameters;  // after `void* self`, e.g. "const char* name, char* out"
  std::vector<std::string> parameter_names;
};

struct InterfaceDescription {
  std::string table;  // the struct's type name, e.g. greeter_v1
  std::vector<InterfaceFunction> functions;
};

// Reads the table named by GRAFT_DECLARE_INTERFACE in `header_text`. Returns
// false with `error` naming what is missing.
bool parse_interface(const std::string& header_text, InterfaceDescription* out, std::string* error);

// Writes <dir>/CMakeLists.txt, <dir>/<name>.cpp, <dir>/<name>_test.cpp and a
// copy of the header. Refuses to overwrite existing files.
bool write_component_skeleton(const std::string& name, const std::filesystem::path& header,
                              const std::filesystem::path& dir, std::string* error);

}  // namespace graftctl
