// Component versions: MAJOR.MINOR.PATCH with an optional response letter,
// written `26.3.1 (a)`. Order: 26.3.1 < 26.3.1 (a) < 26.3.1 (b) < 26.3.2.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Built with -fvisibility=hidden: what is declared here is libgraft's API.
#pragma GCC visibility push(default)

namespace graft {

class Version {
 public:
  constexpr Version() = default;
  constexpr Version(std::uint32_t major, std::uint32_t minor, std::uint32_t patch,
                    char response = '\0')
      : major_(major), minor_(minor), patch_(patch), response_(response) {}

  // Accepts `26.3.1`, `26.3.1 (a)`, `26.3.1(a)` and `26.3.1-a`. On failure
  // returns nullopt and, if `error` is given, a message naming the text.
  static std::optional<Version> parse(std::string_view text, std::string* error = nullptr);

  std::uint32_t major() const noexcept { return major_; }
  std::uint32_t minor() const noexcept { return minor_; }
  std::uint32_t patch() const noexcept { return patch_; }
  // The response letter ('a'..'z'), or '\0' for a base release.
  char response() const noexcept { return response_; }
  bool is_response() const noexcept { return response_ != '\0'; }
  // The base release a response applies to (itself for a base release).
  Version base() const noexcept { return Version(major_, minor_, patch_); }

  // `26.3.1 (a)`: the one printed form.
  std::string to_string() const;
  // `26.3.1-a`: the form used in file names.
  std::string file_suffix() const;

  // Responses are cumulative: a response installs over its own base or an
  // earlier response of that base; anything else must be a newer base.
  bool installs_over(const Version& serving) const noexcept;

  friend constexpr auto operator<=>(const Version&, const Version&) = default;

 private:
  std::uint32_t major_ = 0;
  std::uint32_t minor_ = 0;
  std::uint32_t patch_ = 0;
  char response_ = '\0';
};

}  // namespace graft

#pragma GCC visibility pop
