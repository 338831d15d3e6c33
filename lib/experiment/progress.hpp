#pragma once
// A tqdm-like progress line on stderr: redrawn in place on a terminal,
// a plain line every few seconds otherwise (logs, CI), nothing when quiet.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "experiment/trainer.hpp"

namespace saelab {

class progress final : public training_observer {
 public:
  progress(int epochs, std::int64_t images_per_epoch, bool quiet);

  void on_step(const step_record& s) override;
  void on_epoch(const epoch_record& e) override;

 private:
  void draw(const step_record& s);
  int epochs_;
  std::int64_t images_per_epoch_;
  bool quiet_, tty_;
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
  double running_loss_ = 0;
  bool line_open_ = false;
};

// "1:02:03" or "2:03"
std::string format_duration(double seconds);

}  // namespace saelab
