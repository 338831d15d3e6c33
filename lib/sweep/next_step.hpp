#pragma once
// What sae-sweep says last: the comparison, once every run of the plan is
// done; until then what is left and the command that finishes it.
//
//   sweep_next_step(summary, "sae-sweep experiments/kl_vs_l1.ini", "experiments/kl_vs_l1")
//     every run done:  "next: sae-compare experiments/kl_vs_l1"
//     else:            "sae-sweep: 3 of 66 runs are not done (2 pending, 1 failed): run
//                       sae-sweep experiments/kl_vs_l1.ini again to finish them"
// Runs another process holds (status running) are named as running
// elsewhere: the command cannot finish those, it waits for nothing.

#include <filesystem>
#include <string>

#include "sweep/csv.hpp"

namespace saelab {

// `summary`: the table of summary.hpp (its status column); `again`: the
// sae-sweep command line that runs the whole plan, as the user would type it.
std::string sweep_next_step(const csv_table& summary, const std::string& again, const std::filesystem::path& sweep_dir);

}  // namespace saelab
