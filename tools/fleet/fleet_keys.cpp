#include "fleet_keys.hpp"

namespace graft::fleet {

std::string check_name(const std::string& what, const std::string& name) {
  if (name.empty() || name.size() > 128) return what + " must be 1 to 128 characters";
  if (name[0] == '.') return what + " '" + name + "' must not start with '.'";
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return what + " '" + name + "' may hold only letters, digits, '.', '_' and '-'";
  }
  return {};
}

std::string version_key(const Version& v) {
  return v.file_suffix();
}

}  // namespace graft::fleet
