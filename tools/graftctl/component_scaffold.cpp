#include "component_scaffold.hpp"

#include <fstream>
#include <regex>
#include <sstream>

namespace graftctl {
namespace fs = std::filesystem;

namespace {

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  const auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// "const char* name" -> "name"; "int64_t* out" -> "out".
std::string parameter_name(const std::string& p) {
  static const std::regex last_word(R"(([A-Za-z_][A-Za-z0-9_]*)\s*(\[\s*\])?\s*$)");
  std::smatch m;
  return std::regex_search(p, m, last_word) ? m[1].str() : std::string();
}

}  // namespace

bool parse_interface(const std::string& text, InterfaceDescription* out, std::string* error) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(R"(GRAFT_DECLARE_INTERFACE\s*\(\s*(\w+)\s*,)"))) {
    *error = "no GRAFT_DECLARE_INTERFACE(table, id, major) in the header";
    return false;
  }
  out->table = m[1].str();
  const std::regex body("typedef\\s+struct\\s+\\w*\\s*\\{([^}]*)\\}\\s*" + out->table + "\\s*;");
  if (!std::regex_search(text, m, body)) {
    *error = "no 'typedef struct ... { ... } " + out->table + ";' in the header";
    return false;
  }
  const std::string fields =
      std::regex_replace(m[1].str(), std::regex(R"(/\*[\s\S]*?\*/|//[^\n]*)"), "");
  const std::regex fn(R"(graft_status\s*\(\s*\*\s*(\w+)\s*\)\s*\(([^;]*)\)\s*;)");
  for (auto it = std::sregex_iterator(fields.begin(), fields.end(), fn);
       it != std::sregex_iterator(); ++it) {
    InterfaceFunction f;
    f.name = (*it)[1].str();
    std::string params = trim((*it)[2].str());
    // Drop the leading instance parameter (`void* self`).
    const auto comma = params.find(',');
    params = comma == std::string::npos ? std::string() : trim(params.substr(comma + 1));
    f.parameters = params;
    std::stringstream ss(params);
    std::string p;
    while (std::getline(ss, p, ',')) {
      if (trim(p).find('(') != std::string::npos) {
        *error = "function '" + f.name + "' takes a function pointer; write that method by hand";
        return false;
      }
      f.parameter_names.push_back(parameter_name(p));
    }
    out->functions.push_back(std::move(f));
  }
  if (out->functions.empty()) {
    *error = "table " + out->table + " has no 'graft_status (*name)(void* self, ...)' members";
    return false;
  }
  return true;
}

bool write_component_skeleton(const std::string& name, const fs::path& header, const fs::path& dir,
                              std::string* error) {
  std::ifstream in(header);
  if (!in) {
    *error = "cannot read interface header '" + header.string() + "'";
    return false;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  InterfaceDescription iface;
  if (!parse_interface(text, &iface, error)) {
    *error = "'" + header.string() + "': " + *error;
    return false;
  }
  std::string cls;
  bool upper = true;
  for (char c : name) {
    if (c == '_' || c == '-') {
      upper = true;
      continue;
    }
    cls += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  const std::string header_name = header.filename().string();
  const fs::path files[] = {dir / "CMakeLists.txt", dir / (name + ".cpp"),
                            dir / (name + "_test.cpp"), dir / header_name};
  for (const auto& f : files) {
    if (fs::exists(f)) {
      *error = "'" + f.string() + "' exists already; not overwriting";
      return false;
    }
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    *error = "cannot create '" + dir.string() + "': " + ec.message();
    return false;
  }
  fs::copy_file(header, dir / header_name, ec);
  if (ec) {
    *error = "cannot copy the header: " + ec.message();
    return false;
  }

  std::ofstream cmake(dir / "CMakeLists.txt");
  cmake << "cmake_minimum_required(VERSION 3.25)\n"
        << "project(" << name << " LANGUAGES CXX)\n"
        << "set(CMAKE_CXX_STANDARD 20)\n"
        << "find_package(graft 0.1 CONFIG REQUIRED)\n\n"
        << "# Each version is its own build; bump VERSION for a patch, e.g. \"1.0.0 (a)\".\n"
        << "graft_add_component(" << name << "_1_0_0 NAME " << name << " VERSION 1.0.0\n"
        << "  SOURCES " << name << ".cpp INTERFACE ${CMAKE_CURRENT_SOURCE_DIR})\n\n"
        << "# The test loads the built component into a runtime.\n"
        << "add_executable(" << name << "_test " << name << "_test.cpp)\n"
        << "target_link_libraries(" << name << "_test PRIVATE graft::runtime)\n"
        << "target_compile_definitions(" << name
        << "_test PRIVATE COMPONENT_FILE=\"$<TARGET_FILE:" << name << "_1_0_0>\")\n"
        << "add_dependencies(" << name << "_test " << name << "_1_0_0)\n"
        << "enable_testing()\n"
        << "add_test(NAME " << name << "_loads COMMAND " << name << "_test)\n";

  std::ofstream src(dir / (name + ".cpp"));
  src << "// The " << name << " component, implementing " << iface.table << ".\n"
      << "#include \"" << header_name << "\"\n\n"
      << "#include <graft/component.hpp>\n\n"
      << "namespace {\n\n"
      << "class " << cls << " {\n public:\n"
      << "  explicit " << cls << "(graft::Host& host) : host_(host) {}\n\n";
  for (const auto& f : iface.functions) {
    src << "  graft_status " << f.name << "(" << f.parameters << ") {\n";
    for (const auto& p : f.parameter_names) {
      if (!p.empty()) src << "    (void)" << p << ";\n";
    }
    src << "    return GRAFT_E_UNSUPPORTED;  // write " << f.name << " here\n  }\n\n";
  }
  src << "  // Optional: throw to refuse this version at load.\n"
      << "  void self_test() {}\n\n"
      << " private:\n  graft::Host& host_;\n};\n\n"
      << "const " << iface.table << " kTable = {\n";
  for (const auto& f : iface.functions) {
    src << "    ." << f.name << " = graft::method<&" << cls << "::" << f.name << ">,\n";
  }
  src << "};\n\n}  // namespace\n\nGRAFT_COMPONENT(" << cls << ", " << iface.table << ", kTable)\n";

  std::ofstream test(dir / (name + "_test.cpp"));
  test << "// Loads the component into a graft runtime: the descriptor, the interface\n"
       << "// and the self-test must pass. Exit 0 on success.\n"
       << "#include \"" << header_name << "\"\n\n"
       << "#include <graft/runtime.hpp>\n\n"
       << "#include <cstdio>\n#include <filesystem>\n\n"
       << "int main() {\n"
       << "  graft::RuntimeOptions options;\n"
       << "  options.state_dir = std::filesystem::temp_directory_path() / \"" << name
       << "-test\";\n"
       << "  auto runtime = graft::Runtime::open(options);\n"
       << "  auto& slot = runtime->slot<" << iface.table << ">(\"" << name << "\");\n"
       << "  const graft::Status s = slot.load(COMPONENT_FILE);\n"
       << "  std::printf(\"%s\\n\", s ? (\"" << name
       << " \" + slot.status().version + \" loads\").c_str() : s.message().c_str());\n"
       << "  return s ? 0 : 1;\n}\n";
  if (!cmake || !src || !test) {
    *error = "writing the skeleton into '" + dir.string() + "' failed";
    return false;
  }
  return true;
}

}  // namespace graftctl
