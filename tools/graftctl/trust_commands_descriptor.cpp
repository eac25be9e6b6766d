#include "trust_commands_descriptor.hpp"

#include <graft/abi.h>

#include "printable.hpp"

#include <nlohmann/json.hpp>

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace graftctl {
namespace {

// Descriptor strings longer than this are refused (the runtime's limit too).
constexpr std::size_t kMaxDescriptorString = 256;

bool copy_string(const char* s, std::string* out) {
  if (s == nullptr) return false;
  const std::size_t n = ::strnlen(s, kMaxDescriptorString + 1);
  if (n == 0 || n > kMaxDescriptorString) return false;
  out->assign(s, n);
  return true;
}

// Closes the handle on every path out of read_component_identity.
struct LibraryHandle {
  void* handle = nullptr;
  ~LibraryHandle() {
    if (handle != nullptr) ::dlclose(handle);
  }
};

std::optional<ComponentIdentity> read_in_this_process(const std::filesystem::path& so,
                                                      std::string* why) {
  const std::string what = "'" + so.string() + "'";
  // dlopen searches the library path for a bare name; a path with a slash
  // names exactly this file.
  const std::filesystem::path exact = so.has_parent_path() ? so : std::filesystem::path(".") / so;
  LibraryHandle lib;
  ::dlerror();
  lib.handle = ::dlopen(exact.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib.handle == nullptr) {
    const char* e = ::dlerror();
    *why = what + " cannot be loaded: " + (e != nullptr ? e : "unknown dlopen error");
    return std::nullopt;
  }
  void* sym = ::dlsym(lib.handle, GRAFT_ENTRY_SYMBOL);
  if (sym == nullptr) {
    *why = what + " is not a graft component: it exports no " + GRAFT_ENTRY_SYMBOL;
    return std::nullopt;
  }
  graft_entry_fn entry = nullptr;
  static_assert(sizeof entry == sizeof sym);
  std::memcpy(&entry, &sym, sizeof entry);  // object pointer to function pointer, without UB casts
  const graft_component_descriptor* d = entry(GRAFT_ABI_VERSION);
  if (d == nullptr) {
    *why = what + ": its entry function returned no descriptor for graft ABI " +
           std::to_string(GRAFT_ABI_VERSION);
    return std::nullopt;
  }
  ComponentIdentity id;
  const std::uint32_t size = d->struct_size;
  id.abi_version = d->abi_version;
  if (!GRAFT_DESCRIPTOR_HAS(size, interface_major)) {
    *why = what + ": its descriptor is " + std::to_string(size) +
           " bytes, too small to name component, version and interface";
    return std::nullopt;
  }
  if (!copy_string(d->component_name, &id.name)) {
    *why = what + ": its descriptor has no valid component name";
    return std::nullopt;
  }
  if (!copy_string(d->component_version, &id.version)) {
    *why = what + ": its descriptor has no valid version";
    return std::nullopt;
  }
  if (!copy_string(d->interface_id, &id.interface_id)) {
    *why = what + ": its descriptor has no valid interface id";
    return std::nullopt;
  }
  id.interface_major = d->interface_major;
  return id;
}

// The child's answer, one JSON object on the pipe.
std::string encode(const std::optional<ComponentIdentity>& id, const std::string& why) {
  if (!id) return nlohmann::json{{"ok", false}, {"why", why}}.dump();
  return nlohmann::json{{"ok", true},
                        {"name", id->name},
                        {"version", id->version},
                        {"abi_version", id->abi_version},
                        {"interface_id", id->interface_id},
                        {"interface_major", id->interface_major}}
      .dump();
}

void write_fully(int fd, const std::string& text) {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

std::optional<ComponentIdentity> read_component_identity(const std::filesystem::path& so,
                                                         std::string* why,
                                                         std::chrono::milliseconds timeout) {
  const std::string what = "'" + graft::printable(so.string()) + "'";
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    *why = what + ": cannot make a pipe: " + std::strerror(errno);
    return std::nullopt;
  }
  std::cout.flush();
  std::cerr.flush();
  const pid_t child = ::fork();
  if (child < 0) {
    *why = what + ": cannot start a process to read it: " + std::strerror(errno);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return std::nullopt;
  }
  if (child == 0) {
    // Loading runs the object's constructors: whatever they do (crash,
    // hang, exit, write) happens here, not in graftctl.
    ::close(pipe_fds[0]);
    std::string child_why;
    const auto id = read_in_this_process(so, &child_why);
    write_fully(pipe_fds[1], encode(id, child_why));
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string answer;
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{pipe_fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      timed_out = ready == 0;
      break;
    }
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
    if (answer.size() > 64 * 1024) break;  // far more than any descriptor
  }
  ::close(pipe_fds[0]);
  if (timed_out) ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    *why = what + ": reading its descriptor did not finish within " +
           std::to_string(timeout.count()) +
           " ms (its constructors or entry function hang); the process reading it was killed";
    return std::nullopt;
  }
  if (WIFSIGNALED(status)) {
    *why = what + ": loading it crashed the process reading its descriptor (signal " +
           std::to_string(WTERMSIG(status)) + ", " + ::strsignal(WTERMSIG(status)) + ")";
    return std::nullopt;
  }
  const auto j = nlohmann::json::parse(answer, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ok")) {
    *why = what + ": the process reading its descriptor gave no answer (exit status " +
           std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
           "; its constructors may have ended the process)";
    return std::nullopt;
  }
  try {
    if (!j.at("ok").get<bool>()) {
      *why = j.at("why").get<std::string>();
      return std::nullopt;
    }
    ComponentIdentity id;
    id.name = j.at("name").get<std::string>();
    id.version = j.at("version").get<std::string>();
    id.abi_version = j.at("abi_version").get<std::uint32_t>();
    id.interface_id = j.at("interface_id").get<std::string>();
    id.interface_major = j.at("interface_major").get<std::uint32_t>();
    return id;
  } catch (const nlohmann::json::exception& e) {
    *why = what + ": the process reading its descriptor answered garbage: " + e.what();
    return std::nullopt;
  }
}

}  // namespace graftctl
