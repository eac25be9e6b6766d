#include "install_policy.hpp"

#include "file_io.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace graft::control {

InstallPolicy::InstallPolicy(const std::filesystem::path& state_dir, bool initial)
    : file_(state_dir / "control" / "policy.json") {
  auto_install_ = initial;
  std::error_code ec;
  if (!std::filesystem::exists(file_, ec)) return;
  std::ifstream in(file_);
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  auto it = j.is_object() ? j.find("auto_install") : j.end();
  if (j.is_discarded() || !j.is_object() || it == j.end() || !it->is_boolean()) {
    throw Error(Status(ErrorCode::state_corrupt,
                       "install policy " + file_.string() +
                           " is unreadable; fix or remove it (it holds the operator's "
                           "auto-install choice)"));
  }
  auto_install_ = it->get<bool>();
  recorded_ = true;
}

Status InstallPolicy::set_auto_install(bool on) {
  std::lock_guard lock(write_mu_);
  const auto dir = file_.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Status(ErrorCode::io_error, "cannot create " + dir.string() + ": " + ec.message());
  }
  const std::string tmp = file_.string() + ".tmp";
  const std::string text = nlohmann::json{{"auto_install", on}}.dump() + "\n";
  detail::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  detail::TempFileGuard guard(tmp);
  if (!fd || !detail::write_all(fd.get(), text.data(), text.size()) ||
      detail::io().fsync(fd.get()) != 0 || detail::io().rename(tmp.c_str(), file_.c_str()) != 0) {
    return Status(ErrorCode::io_error, "cannot record the install policy in " + file_.string() +
                                           ": " + std::strerror(errno));
  }
  guard.release();
  detail::fsync_dir(dir);
  auto_install_.store(on, std::memory_order_release);
  recorded_ = true;
  return {};
}

}  // namespace graft::control
