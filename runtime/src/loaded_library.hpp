// A dlopen'ed shared object (Boost.DLL), counted per path: dlopen of a path
// that is already open returns the same handle, so the "is it really gone"
// check runs only when the last holder in this process closes it.
#pragma once

#include <graft/status.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace graft::detail {

class LoadedLibrary {
 public:
  static Status open(const std::filesystem::path& path, std::unique_ptr<LoadedLibrary>* out);
  ~LoadedLibrary();
  LoadedLibrary(const LoadedLibrary&) = delete;
  LoadedLibrary& operator=(const LoadedLibrary&) = delete;

  // nullptr when the symbol is absent.
  void* symbol(const char* name) const;
  // Closes it. False when this was the last holder and the object is still
  // mapped afterwards (dlopen with RTLD_NOLOAD still finds it).
  bool close();

 private:
  struct Impl;
  explicit LoadedLibrary(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when the object at `path` is mapped in this process right now.
bool is_mapped(const std::filesystem::path& path);

}  // namespace graft::detail
