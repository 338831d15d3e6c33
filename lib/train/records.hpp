#pragma once
// What a training run reports to its observers: one record per step and per
// epoch, and the penalised sites. The trainer (experiment/trainer.hpp) fills
// them; the logs (log/run_log.hpp) and the runner's own observers read them.
// They live below both so that log/ needs nothing from experiment/.

#include <cstdint>
#include <string>
#include <vector>

#include "train/activity.hpp"

namespace saelab {

struct step_record {
  int epoch = 0;           // 0-based
  std::int64_t step = 0;   // global, 1-based after the update
  std::int64_t batch = 0;  // within the epoch
  std::int64_t batches = 0;
  double loss = 0, reconstruction = 0, penalty = 0, learning_rate = 0;
};

struct test_record {
  double bce = 0, mse = 0;    // whole test set
  double bce_reference = 0;   // first reference_test_images images (trainer.hpp)
  std::vector<site_activity> activity;  // one per network site, in network order
};

struct epoch_record {
  int epoch = 0;  // 0-based
  // Means over the epoch's batches, weighted by batch size.
  double loss = 0, reconstruction = 0, penalty = 0;
  std::vector<double> site_penalty;
  test_record test;
  double train_seconds = 0, test_seconds = 0;
};

// A penalised site as the logs record it, in the objective's order.
struct penalty_info {
  std::string site;
  std::string description;  // the penalty term's describe()
};

class training_observer {
 public:
  virtual ~training_observer() = default;
  virtual void on_step(const step_record& s) = 0;
  virtual void on_epoch(const epoch_record& e) = 0;
};

}  // namespace saelab
