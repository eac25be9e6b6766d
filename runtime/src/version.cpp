#include <graft/version.hpp>

#include <cctype>
#include <charconv>

namespace graft {
namespace {

bool fail(std::string* error, std::string_view text, const char* why) {
  if (error != nullptr) {
    *error = "invalid version '" + std::string(text) + "': " + why +
             " (expected MAJOR.MINOR.PATCH or MAJOR.MINOR.PATCH (a))";
  }
  return false;
}

bool read_number(std::string_view& rest, std::uint32_t* out) {
  if (rest.empty() || !std::isdigit(static_cast<unsigned char>(rest.front()))) return false;
  if (rest.size() > 1 && rest.front() == '0' && std::isdigit(static_cast<unsigned char>(rest[1]))) {
    return false;  // no leading zeros: "01" and "1" would compare equal but print differently
  }
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), *out);
  if (ec != std::errc()) return false;
  rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
  return true;
}

}  // namespace

std::optional<Version> Version::parse(std::string_view text, std::string* error) {
  std::string_view rest = text;
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front())))
    rest.remove_prefix(1);
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back())))
    rest.remove_suffix(1);
  if (rest.empty()) {
    fail(error, text, "empty");
    return std::nullopt;
  }
  std::uint32_t n[3] = {};
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (rest.empty() || rest.front() != '.') {
        fail(error, text, "needs three numbers separated by '.'");
        return std::nullopt;
      }
      rest.remove_prefix(1);
    }
    if (!read_number(rest, &n[i])) {
      fail(error, text, "each part must be a number without leading zeros, below 2^32");
      return std::nullopt;
    }
  }
  char letter = '\0';
  if (!rest.empty()) {
    bool paren = false;
    if (rest.front() == '-') {
      rest.remove_prefix(1);
    } else {
      if (rest.front() == ' ') rest.remove_prefix(1);
      if (rest.empty() || rest.front() != '(') {
        fail(error, text, "unexpected text after the patch number");
        return std::nullopt;
      }
      rest.remove_prefix(1);
      paren = true;
    }
    if (rest.empty() || rest.front() < 'a' || rest.front() > 'z') {
      fail(error, text, "a response is one lower-case letter a-z");
      return std::nullopt;
    }
    letter = rest.front();
    rest.remove_prefix(1);
    if (paren) {
      if (rest.empty() || rest.front() != ')') {
        fail(error, text, "missing ')' after the response letter");
        return std::nullopt;
      }
      rest.remove_prefix(1);
    }
    if (!rest.empty()) {
      fail(error, text, "unexpected text after the response letter");
      return std::nullopt;
    }
  }
  return Version(n[0], n[1], n[2], letter);
}

std::string Version::to_string() const {
  std::string s =
      std::to_string(major_) + "." + std::to_string(minor_) + "." + std::to_string(patch_);
  if (response_ != '\0') {
    s += " (";
    s += response_;
    s += ')';
  }
  return s;
}

std::string Version::file_suffix() const {
  std::string s =
      std::to_string(major_) + "." + std::to_string(minor_) + "." + std::to_string(patch_);
  if (response_ != '\0') {
    s += '-';
    s += response_;
  }
  return s;
}

bool Version::installs_over(const Version& serving) const noexcept {
  if (!(*this > serving)) return false;
  if (!is_response()) return true;
  return serving.base() == base();
}

}  // namespace graft
