#include "text_table.hpp"

#include <algorithm>

namespace graftctl {
namespace {

// Display width: UTF-8 continuation bytes take no column.
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

TextTable::TextTable(std::vector<std::string> header)
    : header_(std::move(header)), numeric_(header_.size(), false) {}

TextTable& TextTable::numeric(std::size_t column) {
  if (column < numeric_.size()) numeric_[column] = true;
  return *this;
}

void TextTable::add(std::vector<std::string> row) {
  row.resize(header_.size());
  rows_.push_back(std::move(row));
}

void TextTable::print(std::ostream& out) const {
  std::vector<std::size_t> widths(header_.size());
  for (std::size_t c = 0; c < header_.size(); ++c)
    widths[c] = width(header_[c]);
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], width(row[c]));
  }
  auto line = [&](const std::vector<std::string>& row) {
    std::string text;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string pad(widths[c] - width(row[c]), ' ');
      const bool last = c + 1 == row.size();
      if (numeric_[c]) {
        text += pad + row[c];
      } else {
        text += row[c];
        if (!last) text += pad;
      }
      if (!last) text += "  ";
    }
    while (!text.empty() && text.back() == ' ')
      text.pop_back();
    out << text << "\n";
  };
  line(header_);
  for (const auto& row : rows_)
    line(row);
}

}  // namespace graftctl
