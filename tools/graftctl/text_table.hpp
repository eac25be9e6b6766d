// An aligned text table for people: a header row and columns padded to
// their widest cell. Numeric columns are right-aligned.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace graftctl {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header);
  // Marks a column as numbers (right-aligned).
  TextTable& numeric(std::size_t column);
  void add(std::vector<std::string> row);
  bool empty() const noexcept { return rows_.empty(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> numeric_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace graftctl
