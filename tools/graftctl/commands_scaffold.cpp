#include "commands.hpp"
#include "component_scaffold.hpp"
#include "exit_codes.hpp"

#include <filesystem>
#include <iostream>
#include <memory>

namespace graftctl {

void add_scaffold_commands(CLI::App& app, Context& ctx) {
  struct Args {
    std::string name;
    std::filesystem::path header;
    std::filesystem::path out;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "new-component", "Write a buildable component skeleton for an interface header");
  cmd->add_option("NAME", args->name, "component name (letters, digits, '_')")
      ->required()
      ->check(CLI::Validator(
          [](std::string& v) {
            return v.find_first_not_of(
                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
                           std::string::npos
                       ? std::string()
                       : std::string("may hold only letters, digits and '_'");
          },
          "NAME"));
  cmd->add_option("--interface", args->header,
                  "the interface's C header (with GRAFT_DECLARE_INTERFACE)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", args->out, "folder to write (default: ./NAME)");
  cmd->footer(
      "Then: cmake -S NAME -B NAME/build -DCMAKE_PREFIX_PATH=PREFIX && cmake --build NAME/build && "
      "ctest --test-dir "
      "NAME/build");
  cmd->callback([args, &ctx] {
    const std::filesystem::path dir =
        args->out.empty() ? std::filesystem::path(args->name) : args->out;
    std::string error;
    if (!write_component_skeleton(args->name, args->header, dir, &error)) {
      std::cerr << "graftctl new-component: " << error << "\n";
      ctx.exit_code = kExitRefused;
      return;
    }
    // The prefix this graftctl was installed in holds graft's CMake package:
    // point CMake at it (a prefix outside CMake's default search path is
    // otherwise not found).
    std::error_code ec;
    const std::filesystem::path prefix =
        std::filesystem::canonical("/proc/self/exe", ec).parent_path().parent_path();
    const bool installed =
        !ec && std::filesystem::exists(prefix / GRAFT_INSTALL_LIBDIR / "cmake" / "graft", ec);
    const std::string prefix_arg =
        installed ? " -DCMAKE_PREFIX_PATH=" + prefix.string() : " -DCMAKE_PREFIX_PATH=PREFIX";
    std::cout << "wrote " << dir.string() << "/: CMakeLists.txt, " << args->name << ".cpp, "
              << args->name << "_test.cpp, " << args->header.filename().string() << "\n"
              << "next: cmake -S " << dir.string() << " -B " << dir.string() << "/build"
              << prefix_arg << " && cmake --build " << dir.string() << "/build && ctest --test-dir "
              << dir.string() << "/build\n";
    if (!installed) {
      std::cout << "(PREFIX: where graft is installed, the --prefix given to cmake --install)\n";
    }
    ctx.exit_code = kExitOk;
  });
}

}  // namespace graftctl
