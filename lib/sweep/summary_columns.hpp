#pragma once
// What each column of summary.csv and sweep.h5:/runs holds: its `units` and
// `description` attributes in sweep.h5 (the column list is in summary.hpp).
//
//   const column_doc d = describe_column("hidden.l0", plan.keys);   // {"units", "mean number of ..."}

#include <string>
#include <string_view>
#include <vector>

namespace saelab {

struct column_doc {
  std::string units;  // "" for text and identifiers
  std::string description;
};

// `swept_keys`: the plan's swept config keys (columns named after them).
// "<site>.<metric>" columns are recognised by their metric.
column_doc describe_column(std::string_view name, const std::vector<std::string>& swept_keys);

}  // namespace saelab
