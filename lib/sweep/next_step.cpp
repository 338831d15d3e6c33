#include "sweep/next_step.hpp"

#include <map>
#include <vector>

#include <fmt/format.h>

#include "report/quote.hpp"

namespace saelab {

std::string sweep_next_step(const csv_table& summary, const std::string& again, const std::filesystem::path& sweep_dir) {
  std::map<std::string, int> left;  // status -> runs
  int not_done = 0;
  for (const auto& r : summary.rows) {
    const std::string& status = r[summary.column("status")];
    if (status == "done") continue;
    ++left[status == "running" ? "running elsewhere" : status];
    ++not_done;
  }
  if (not_done == 0) return fmt::format("next: sae-compare {}", shell_quote(sweep_dir.string()));
  std::vector<std::string> parts;
  for (const auto& [status, n] : left) parts.push_back(fmt::format("{} {}", n, status));
  const int elsewhere = left.count("running elsewhere") ? left.at("running elsewhere") : 0;
  return fmt::format("sae-sweep: {} of {} run{} not done ({}): {}", not_done, summary.rows.size(),
                     summary.rows.size() == 1 ? " is" : "s are", fmt::join(parts, ", "),
                     elsewhere == not_done
                         ? "another process runs them; sae-compare once they are done"
                         : fmt::format("run {} again to finish them", again));
}

}  // namespace saelab
