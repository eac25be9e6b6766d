// The three ways a report is written: a table for a person, JSON lines for a
// program, KEY=VALUE lines for a shell script.
#pragma once

#include "load_report.hpp"

#include <ostream>

namespace loadgen {

void write_table(const LoadReport& report, std::ostream& out);
// One object per second, then one {"summary": ...} object.
void write_json_lines(const LoadReport& report, std::ostream& out);
// REQUESTS=, FAILED=, P99_MS=, P99_BEFORE_MS=, ..., LONGEST_GAP_MS=, VERSIONS=
void write_summary_vars(const LoadReport& report, std::ostream& out);

}  // namespace loadgen
