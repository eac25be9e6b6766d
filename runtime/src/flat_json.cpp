#include "flat_json.hpp"

#include <set>
#include <vector>

namespace graft::detail {
namespace {

using nlohmann::json;

class FlatReader : public nlohmann::json_sax<json> {
 public:
  FlatReader(std::size_t max_depth, FlatJson* out) : max_depth_(max_depth), out_(out) {}

  bool null() override { return scalar(json(nullptr)); }
  bool boolean(bool v) override { return scalar(json(v)); }
  bool number_integer(number_integer_t v) override { return scalar(json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return scalar(json(v)); }
  bool string(string_t& v) override { return scalar(json(v)); }
  bool binary(binary_t&) override { return fail("not valid JSON"); }

  bool start_object(std::size_t) override {
    if (!open(json::object())) return false;
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (!keys_.back().insert(k).second) return fail("duplicate key '" + k + "'");
    key_ = k;
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    if (!open(json::array())) return false;
    keys_.emplace_back();  // keeps keys_ in step with depth_
    return true;
  }
  bool end_array() override {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return fail("not valid JSON");
  }

  bool top_was_object() const { return top_object_; }

 private:
  bool fail(std::string why) {
    if (out_->error.empty()) out_->error = std::move(why);
    return false;
  }
  bool scalar(json v) {
    if (depth_ == 0) return fail("not a JSON object");
    if (depth_ == 1) out_->fields[key_] = std::move(v);
    return true;
  }
  bool open(json empty) {
    if (depth_ == 0) {
      if (!empty.is_object()) return fail("not a JSON object");
      top_object_ = true;
    } else if (depth_ == 1) {
      out_->fields[key_] = std::move(empty);
    }
    if (++depth_ > max_depth_) {
      return fail("nested deeper than " + std::to_string(max_depth_) + " levels");
    }
    return true;
  }

  std::size_t max_depth_;
  FlatJson* out_;
  std::size_t depth_ = 0;
  bool top_object_ = false;
  std::string key_;
  std::vector<std::set<std::string>> keys_;
};

}  // namespace

bool read_flat_json(std::string_view text, std::size_t max_depth, FlatJson* out) {
  out->fields.clear();
  out->error.clear();
  FlatReader reader(max_depth, out);
  const bool ok = json::sax_parse(text.begin(), text.end(), &reader, json::input_format_t::json,
                                  /*strict=*/true, /*ignore_comments=*/false);
  if (!ok || !out->error.empty() || !reader.top_was_object()) {
    if (out->error.empty()) out->error = "not valid JSON";
    return false;
  }
  return true;
}

}  // namespace graft::detail
