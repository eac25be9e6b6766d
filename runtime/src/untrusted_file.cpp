#include "untrusted_file.hpp"

#include "printable.hpp"
#include "sha256.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace graft::detail {
namespace fs = std::filesystem;

std::string file_kind(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "a regular file";
    case S_IFDIR:
      return "a folder";
    case S_IFLNK:
      return "a symlink";
    case S_IFIFO:
      return "a FIFO";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFSOCK:
      return "a socket";
    default:
      return "not a regular file";
  }
}

void UntrustedFile::refuse(FileRefusal why, std::string text) {
  refusal_ = why;
  error_ = "'" + shown_ + "' " + std::move(text);
  fd_.reset();
}

UntrustedFile UntrustedFile::open_at(int dir_fd, const std::string& name, std::uint64_t max_size,
                                     const std::string& shown_dir) {
  UntrustedFile f;
  f.shown_ = printable(shown_dir + name);
  f.max_size_ = max_size;
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    f.refuse(FileRefusal::not_regular, "is not a plain file name");
    return f;
  }
  // Look before opening: opening a device or a FIFO can have effects (or,
  // without O_NONBLOCK, block), and a symlink would lead elsewhere.
  struct stat before {};
  if (::fstatat(dir_fd, name.c_str(), &before, AT_SYMLINK_NOFOLLOW) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      f.refuse(FileRefusal::missing, "does not exist (No such file or directory)");
    } else {
      f.refuse(FileRefusal::unreadable, std::string("cannot be read: ") + std::strerror(err));
    }
    return f;
  }
  if (!S_ISREG(before.st_mode)) {
    f.refuse(FileRefusal::not_regular, "is " + file_kind(before.st_mode));
    return f;
  }
  f.fd_ = UniqueFd(
      ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!f.fd_) {
    const int err = errno;
    if (err == ELOOP) {
      f.refuse(FileRefusal::not_regular, "is a symlink");
    } else if (err == ENOENT) {
      f.refuse(FileRefusal::missing, "does not exist (No such file or directory)");
    } else if (err == ENXIO) {
      f.refuse(FileRefusal::not_regular, "is a socket");
    } else {
      f.refuse(FileRefusal::unreadable, std::string("cannot be read: ") + std::strerror(err));
    }
    return f;
  }
  // The name may have been swapped between the look and the open.
  struct stat st {};
  if (::fstat(f.fd_.get(), &st) != 0) {
    f.refuse(FileRefusal::unreadable, std::string("cannot be read: ") + std::strerror(errno));
    return f;
  }
  if (!S_ISREG(st.st_mode)) {
    f.refuse(FileRefusal::not_regular, "is " + file_kind(st.st_mode));
    return f;
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_size) {
    f.refuse(FileRefusal::too_large, "is larger than " + std::to_string(max_size) + " bytes (" +
                                         std::to_string(st.st_size) + ")");
    f.size_ = static_cast<std::uint64_t>(st.st_size);  // for the caller's message
    return f;
  }
  f.size_ = static_cast<std::uint64_t>(st.st_size);
  return f;
}

bool open_folder(const fs::path& dir, bool no_follow, UniqueFd* out, std::string* error,
                 FileRefusal* why) {
  const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK | (no_follow ? O_NOFOLLOW : 0);
  UniqueFd fd(::open(dir.c_str(), flags));
  if (!fd) {
    const int err = errno;
    FileRefusal r = FileRefusal::unreadable;
    if (err == ENOENT) {
      *error = "folder '" + printable(dir.string()) + "' does not exist";
      r = FileRefusal::missing;
    } else if (err == ENOTDIR || err == ELOOP) {
      struct stat st {};
      const bool seen = ::lstat(dir.c_str(), &st) == 0;
      *error = "'" + printable(dir.string()) + "' is " +
               (seen ? file_kind(st.st_mode) : std::string("not a folder")) + ", not a folder";
      r = FileRefusal::not_regular;
    } else {
      *error = "folder '" + printable(dir.string()) + "' cannot be read: " + std::strerror(err);
    }
    if (why != nullptr) *why = r;
    return false;
  }
  *out = std::move(fd);
  if (why != nullptr) *why = FileRefusal::none;
  return true;
}

UntrustedFile UntrustedFile::open(const fs::path& path, std::uint64_t max_size) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  UniqueFd dir_fd;
  std::string error;
  FileRefusal why = FileRefusal::none;
  if (!open_folder(dir, false, &dir_fd, &error, &why)) {
    UntrustedFile f;
    f.shown_ = printable(path.string());
    f.refusal_ = why == FileRefusal::missing ? FileRefusal::missing : FileRefusal::unreadable;
    f.error_ = "'" + f.shown_ + "': " + error;
    return f;
  }
  std::string shown_dir = path.has_parent_path() ? path.parent_path().string() + "/" : "";
  return open_at(dir_fd.get(), path.filename().string(), max_size, shown_dir);
}

bool UntrustedFile::stream(const std::function<bool(const char*, std::size_t)>& sink,
                           std::uint64_t* total) {
  if (!ok()) return false;
  if (::lseek(fd_.get(), 0, SEEK_SET) != 0) {
    refuse(FileRefusal::unreadable, std::string("cannot be read: ") + std::strerror(errno));
    return false;
  }
  std::uint64_t done = 0;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = io().read(fd_.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      refuse(FileRefusal::unreadable, std::string("cannot be read: ") + std::strerror(errno));
      return false;
    }
    if (n == 0) break;
    done += static_cast<std::uint64_t>(n);
    if (done > max_size_) {
      refuse(FileRefusal::too_large,
             "is larger than " + std::to_string(max_size_) + " bytes (it grew while read)");
      return false;
    }
    if (!sink(buf, static_cast<std::size_t>(n))) return false;
  }
  if (total != nullptr) *total = done;
  return true;
}

bool UntrustedFile::read_all(std::string* out) {
  out->clear();
  return stream(
      [out](const char* data, std::size_t n) {
        out->append(data, n);
        return true;
      },
      nullptr);
}

bool UntrustedFile::sha256(std::string* hex, std::uint64_t* total) {
  Sha256 hash;
  if (!stream(
          [&hash](const char* data, std::size_t n) {
            hash.update(data, n);
            return true;
          },
          total)) {
    return false;
  }
  *hex = hash.hex();
  return true;
}

}  // namespace graft::detail
