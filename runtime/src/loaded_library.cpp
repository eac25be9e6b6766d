#include "loaded_library.hpp"

#include <dlfcn.h>

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/shared_library.hpp>

#include <map>
#include <mutex>

namespace graft::detail {
namespace {

std::mutex g_mu;
std::map<std::string, int>& open_counts() {
  static std::map<std::string, int> counts;
  return counts;
}

}  // namespace

struct LoadedLibrary::Impl {
  // Held by pointer so that a library destroyed while loaded can be left
  // mapped: Boost.DLL's destructor would unload it.
  std::unique_ptr<boost::dll::shared_library> library =
      std::make_unique<boost::dll::shared_library>();
  std::string path;
};

LoadedLibrary::LoadedLibrary(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LoadedLibrary::~LoadedLibrary() {
  // Never unmap from a destructor: only an explicit close() (the slot's
  // reaper, after the drain) does. One destroyed while loaded stays mapped.
  if (impl_ && impl_->library->is_loaded()) (void)impl_->library.release();
}

Status LoadedLibrary::open(const std::filesystem::path& path, std::unique_ptr<LoadedLibrary>* out) {
  auto impl = std::make_unique<Impl>();
  impl->path = path.string();
  std::lock_guard lock(g_mu);
  boost::dll::fs::error_code ec;
  impl->library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local,
                      ec);
  if (ec || !impl->library->is_loaded()) {
    // Boost.DLL's error_code says only "bad file descriptor"; the cause is
    // in dlerror(), still set on this thread.
    const char* text = ::dlerror();
    return Status(ErrorCode::load_failed, text != nullptr ? text : ec.message());
  }
  ++open_counts()[impl->path];
  out->reset(new LoadedLibrary(std::move(impl)));
  return Status();
}

void* LoadedLibrary::symbol(const char* name) const {
  if (!impl_ || !impl_->library->is_loaded()) return nullptr;
  // dlsym directly: Boost.DLL's has()/get() would throw or log for absent symbols.
  return ::dlsym(impl_->library->native(), name);
}

bool LoadedLibrary::close() {
  if (!impl_ || !impl_->library->is_loaded()) return true;
  std::lock_guard lock(g_mu);
  impl_->library->unload();
  auto& counts = open_counts();
  auto it = counts.find(impl_->path);
  bool last = true;
  if (it != counts.end()) {
    last = --it->second == 0;
    if (last) counts.erase(it);
  }
  return !last || !is_mapped(impl_->path);
}

bool is_mapped(const std::filesystem::path& path) {
  void* h = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (h == nullptr) return false;
  ::dlclose(h);  // undo the reference NOLOAD just took
  return true;
}

}  // namespace graft::detail
