#include "object_file_check.hpp"

#include "file_io.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace graft::detail {
namespace {

#if defined(__x86_64__)
constexpr Elf64_Half kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr Elf64_Half kHostMachine = EM_AARCH64;
#elif defined(__riscv)
constexpr Elf64_Half kHostMachine = EM_RISCV;
#else
#error "graft: add this machine's ELF e_machine"
#endif

std::string machine_name(unsigned m) {
  switch (m) {
    case EM_386:
      return "x86 (EM_386)";
    case EM_X86_64:
      return "x86-64 (EM_X86_64)";
    case EM_ARM:
      return "ARM (EM_ARM)";
    case EM_AARCH64:
      return "AArch64 (EM_AARCH64)";
    case EM_RISCV:
      return "RISC-V (EM_RISCV)";
    default:
      return "machine " + std::to_string(m);
  }
}

bool read_at(int fd, void* buf, std::size_t n, off_t offset) {
  return ::pread(fd, buf, n, offset) == static_cast<ssize_t>(n);
}

}  // namespace

Status check_object_file(const std::filesystem::path& file, const std::string& what) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    return Status(err == ENOENT ? ErrorCode::file_missing : ErrorCode::io_error,
                  what + ": cannot open: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Status(ErrorCode::io_error, what + ": cannot stat: " + std::strerror(errno));
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  unsigned char ident[EI_NIDENT] = {};
  if (size < SELFMAG || !read_at(fd.get(), ident, SELFMAG, 0) ||
      std::memcmp(ident, ELFMAG, SELFMAG) != 0) {
    char head[32] = "";
    if (size >= 4) {
      std::snprintf(head, sizeof head, " (starts with %02x %02x %02x %02x)", ident[0], ident[1],
                    ident[2], ident[3]);
    }
    return Status(ErrorCode::not_elf, what + ": not an ELF shared object" + head);
  }
  if (size < sizeof(Elf64_Ehdr)) {
    return Status(ErrorCode::truncated, what + ": truncated ELF file (" + std::to_string(size) +
                                            " bytes, shorter than its header)");
  }
  if (!read_at(fd.get(), ident, EI_NIDENT, 0)) {
    return Status(ErrorCode::io_error, what + ": cannot read ELF header");
  }
  if (ident[EI_CLASS] != ELFCLASS64) {
    return Status(ErrorCode::wrong_architecture,
                  what + ": wrong architecture: " +
                      (ident[EI_CLASS] == ELFCLASS32 ? "32-bit" : "unknown-class") +
                      " ELF, this host is 64-bit");
  }
  if (ident[EI_DATA] != ELFDATA2LSB) {
    return Status(ErrorCode::wrong_architecture, what + ": wrong architecture: big-endian ELF");
  }
  Elf64_Ehdr eh{};
  if (!read_at(fd.get(), &eh, sizeof eh, 0)) {
    return Status(ErrorCode::io_error, what + ": cannot read ELF header");
  }
  if (eh.e_machine != kHostMachine) {
    return Status(ErrorCode::wrong_architecture, what + ": wrong architecture: built for " +
                                                     machine_name(eh.e_machine) + ", host is " +
                                                     machine_name(kHostMachine));
  }
  if (eh.e_type != ET_DYN) {
    return Status(
        ErrorCode::not_shared_object,
        what + ": ELF file is not a shared object (e_type " + std::to_string(eh.e_type) + ")");
  }
  const auto table_end = [](std::uint64_t off, std::uint64_t n, std::uint64_t each) {
    return off + n * each;
  };
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
      table_end(eh.e_phoff, eh.e_phnum, eh.e_phentsize) > size) {
    return Status(ErrorCode::truncated, what +
                                            ": truncated shared object: program headers end past "
                                            "the file's " +
                                            std::to_string(size) + " bytes");
  }
  if (eh.e_shnum != 0 && table_end(eh.e_shoff, eh.e_shnum, eh.e_shentsize) > size) {
    return Status(ErrorCode::truncated, what +
                                            ": truncated shared object: section headers end past "
                                            "the file's " +
                                            std::to_string(size) + " bytes");
  }
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  if (!read_at(fd.get(), ph.data(), ph.size() * sizeof(Elf64_Phdr),
               static_cast<off_t>(eh.e_phoff))) {
    return Status(ErrorCode::io_error, what + ": cannot read program headers");
  }
  for (const auto& p : ph) {
    if (p.p_type == PT_LOAD && p.p_offset + p.p_filesz > size) {
      return Status(ErrorCode::truncated,
                    what + ": truncated shared object: a loadable segment ends at byte " +
                        std::to_string(p.p_offset + p.p_filesz) + " of " + std::to_string(size));
    }
  }
  return Status();
}

Status classify_load_error(const std::string& text, const std::string& what) {
  if (text.find("undefined symbol") != std::string::npos) {
    return Status(ErrorCode::undefined_symbol, what + ": unresolved symbol at load: " + text);
  }
  return Status(ErrorCode::load_failed, what + ": dlopen failed: " + text);
}

}  // namespace graft::detail
