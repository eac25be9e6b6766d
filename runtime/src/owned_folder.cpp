#include "owned_folder.hpp"

#include "printable.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace graft::detail {
namespace fs = std::filesystem;

Status ensure_owned_folder(const fs::path& dir, const char* what, bool no_symlink) {
  const std::string shown = std::string(what) + " '" + printable(dir.string()) + "'";
  struct stat st {};
  if (no_symlink && ::lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    return Status(ErrorCode::io_error, shown + " is a symlink; the host makes this folder itself");
  }
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return Status(ErrorCode::io_error, "cannot use " + shown + ": " + std::strerror(errno));
    }
    std::error_code ec;
    if (dir.has_parent_path()) fs::create_directories(dir.parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status(ErrorCode::io_error, "cannot create " + shown + ": " + std::strerror(errno));
    }
    if (::stat(dir.c_str(), &st) != 0) {
      return Status(ErrorCode::io_error, "cannot use " + shown + ": " + std::strerror(errno));
    }
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status(ErrorCode::io_error, shown + " is not a folder");
  }
  if (st.st_uid != ::geteuid()) {
    return Status(ErrorCode::io_error,
                  shown + " belongs to uid " + std::to_string(st.st_uid) +
                      ", not to this user (uid " + std::to_string(::geteuid()) +
                      "): another user could plant files the host would trust; give it to this "
                      "user (chown) or use another folder");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status(ErrorCode::io_error,
                  shown + " is writable by " +
                      ((st.st_mode & S_IWOTH) != 0 ? "others" : "its group") + " (mode " + mode +
                      "): another user could plant files the host would trust; 'chmod go-w' it");
  }
  return Status();
}

}  // namespace graft::detail
