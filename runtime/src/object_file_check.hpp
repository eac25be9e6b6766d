// Classifies a file before dlopen sees it: Boost.DLL only passes dlerror's
// text along, so "not ELF", "wrong machine" and "truncated" are told apart
// here from the ELF header itself.
#pragma once

#include <graft/status.hpp>

#include <filesystem>

namespace graft::detail {

// ok, or file_missing / not_elf / wrong_architecture / not_shared_object /
// truncated, with a message that names `what` (e.g. "component 'x': file '...'").
Status check_object_file(const std::filesystem::path& file, const std::string& what);

// Classifies dlerror text after a failed load (undefined_symbol or load_failed).
Status classify_load_error(const std::string& dlerror_text, const std::string& what);

}  // namespace graft::detail
