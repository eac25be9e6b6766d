// Shared by the test suites: temporary folders, component paths, a runtime
// with quiet, inspectable logging, and a count of mapped objects.
#pragma once

#include <graft/runtime.hpp>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <link.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace graft::testing {

namespace fs = std::filesystem;

inline fs::path component_file(const std::string& name) {
  return fs::path(GRAFT_COMPONENT_DIR) / name;
}

// A deliberately broken build: fixture-files/<case>/<file>.
inline fs::path fixture_file(const std::string& which, const std::string& file) {
  return fs::path(GRAFT_FIXTURE_DIR) / which / file;
}

// A fresh folder, removed when the object goes.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> n{0};
    path_ = fs::temp_directory_path() /
            ("graft-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + "-" +
             std::to_string(std::random_device{}()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// Log lines the runtime wrote, for assertions.
struct LogCapture {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4096);
  std::shared_ptr<spdlog::logger> logger = [this] {
    auto l = std::make_shared<spdlog::logger>("graft-test", sink);
    l->set_level(spdlog::level::trace);
    return l;
  }();

  bool contains(const std::string& text) const {
    for (const auto& line : sink->last_formatted()) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

inline RuntimeOptions test_options(const fs::path& state_dir,
                                   std::shared_ptr<spdlog::logger> logger) {
  RuntimeOptions o;
  o.state_dir = state_dir;
  o.logger = std::move(logger);
  o.drain_deadline = std::chrono::milliseconds(2000);
  o.probation = std::chrono::milliseconds(0);
  o.housekeeping_interval = std::chrono::milliseconds(5);
  return o;
}

// Shared objects mapped in this process right now.
inline int mapped_object_count() {
  int n = 0;
  dl_iterate_phdr(
      [](dl_phdr_info*, size_t, void* data) {
        ++*static_cast<int*>(data);
        return 0;
      },
      &n);
  return n;
}

inline void write_file(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Waits (bounded) until `pred` holds; for states the housekeeper reaches.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

}  // namespace graft::testing
