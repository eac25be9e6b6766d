// A JSON object of scalar fields (a bundle manifest), read with limits that
// hold against a hostile writer: the text is at most the caller's cap, the
// reader never recurses (nlohmann's SAX parser keeps its own stack) and stops
// at the first value nested deeper than `max_depth`, and a key given twice
// is an error rather than "the last one wins". Nested values are not kept;
// a field holding one is recorded as such, so the caller can say "field 'x'
// must be a string".
//
//   FlatJson j;
//   if (!read_flat_json(text, 8, &j)) return bad(j.error);  // "not valid JSON", "duplicate key
//   'size'" const nlohmann::json* size = j.find("size");
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

// Exported for graft's own libraries, graftctl and tests, not a public API.
#pragma GCC visibility push(default)

namespace graft::detail {

struct FlatJson {
  // Top-level fields: scalars as parsed; an object or array as an empty one
  // of its kind.
  std::map<std::string, nlohmann::json> fields;
  std::string error;

  const nlohmann::json* find(const std::string& key) const {
    auto it = fields.find(key);
    return it == fields.end() ? nullptr : &it->second;
  }
};

// False with `out->error` set when `text` is not a JSON object, nests deeper
// than `max_depth` (the top-level object is depth 1), or repeats a key in
// any object.
bool read_flat_json(std::string_view text, std::size_t max_depth, FlatJson* out);

}  // namespace graft::detail

#pragma GCC visibility pop
