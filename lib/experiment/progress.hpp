#pragma once
// A tqdm-like progress line on stderr: redrawn in place on a terminal (cut to
// its width, so a redraw never leaves a wrapped line behind), a plain line
// every few seconds otherwise (logs, CI), nothing when quiet.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "experiment/trainer.hpp"

namespace saelab {

class progress final : public training_observer {
 public:
  progress(int epochs, std::int64_t images_per_epoch, bool quiet);
  // Clears an open line, so whatever is printed next (an interruption,
  // an error) starts on a clean line.
  ~progress() override;
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;

  void on_step(const step_record& s) override;
  void on_epoch(const epoch_record& e) override;

 private:
  void draw(const step_record& s);
  void clear_line();
  int epochs_;
  std::int64_t images_per_epoch_;
  bool quiet_, tty_;
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
  double running_loss_ = 0;
  bool line_open_ = false;
};

// "1:02:03" or "2:03"
std::string format_duration(double seconds);

// The line as it fits a terminal of `columns` columns: cut to columns - 1
// characters (the last column would wrap on some terminals). Unchanged when
// columns <= 0 (unknown width).
std::string fit_to_width(const std::string& line, int columns);

// Items joined by two blanks into lines of at most `width` characters (an
// item longer than that gets a line of its own), each line starting with
// `indent` blanks and ending in '\n'. "" for no items.
std::string wrap_items(const std::vector<std::string>& items, std::size_t indent, std::size_t width);

}  // namespace saelab
