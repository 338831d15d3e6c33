#pragma once
// The datasets of run_schema()'s rows in one run.h5: created, reopened,
// truncated, appended to and closed from the table alone, so no list of
// series is spelled out anywhere else.
//
//   run_series::create(file, layout);            // before SWMR: datasets, attributes, axes
//   run_series s(file, path, layout);            // opens them; refuses a log that does not fit
//   s.truncate(path, epochs, steps);             // on resume
//   s.append_step(step, wall);                   // one /steps row, /steps/step last
//   s.append_epoch(epoch, wall);                 // one row of /epochs and every site, but /epochs/epoch
//   s.finish_epoch(epoch);                       // /epochs/epoch: the epoch is complete
//
// Axes: /steps/step and /epochs/epoch are dimension scales ("step", "epoch")
// attached to axis 0 of every other row; every axis carries a label. /steps
// and /epochs are NeXus NXdata groups, and the root's `default` names /epochs,
// so silx and h5web first plot test_bce against epoch. create() makes the
// /steps and /epochs groups; the caller makes /sites/<site> for every site.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "log/h5.hpp"
#include "log/run_schema.hpp"

namespace saelab {

struct series_layout {
  struct site {
    std::string name;
    h5::extent shape;  // per input, e.g. {1024} or {8, 26, 26}
  };
  std::string loss_units;  // replaces loss_units in the table
  double active_threshold = 0;
  int every_steps = 1;  // log.every_steps, for /steps' description
  std::vector<site> sites;          // network order
  std::vector<std::string> penalised;  // sites with a penalty term, objective order
};

class run_series {
 public:
  run_series() = default;

  static void create(const h5::file& f, const series_layout& layout);
  // Throws std::runtime_error naming `path` when a row is missing or does not fit `layout`.
  run_series(const h5::file& f, const std::filesystem::path& path, const series_layout& layout);

  // Cuts epochs and site rows back to `epochs` rows and steps rows to the steps
  // <= `steps`; refuses a log holding fewer finished epochs.
  void truncate(const std::filesystem::path& path, int epochs, std::int64_t steps);
  void append_step(const step_record& s, double wall);
  void append_epoch(const epoch_record& e, double wall);
  void finish_epoch(const epoch_record& e);

  // The dataset of a steps or epochs row, e.g. find(series_group::epochs, "wall_time").
  const h5::dataset& find(series_group g, std::string_view name) const;

 private:
  struct open_row {
    const series_row* row = nullptr;
    std::size_t site = 0;  // index into sites_ for site rows
    hsize_t elements = 1;  // per row
    h5::dataset ds;
  };
  void append_group(series_group g, const series_source& src, bool axis);
  std::vector<open_row> rows_;
  std::vector<std::string> sites_;
  std::size_t penalised_ = 0;
};

}  // namespace saelab
