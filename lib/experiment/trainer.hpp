#pragma once
// The training loop. It owns the optimiser, the objective and the batch
// order; it never logs itself but reports every step and epoch to an
// observer (the run log, the progress line), after Caffe's solver callbacks.

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "config/config.hpp"
#include "data/idx.hpp"
#include "data/minibatcher.hpp"
#include "experiment/objective.hpp"
#include "layers/network.hpp"
#include "optim/optimizer.hpp"
#include "train/records.hpp"

namespace saelab {

// A run that diverged: a non-finite loss, or an epoch that reconstructs
// worse than a constant output (trainer.cpp).
class training_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The reference reports its "testing loss" on the first test batch only.
inline constexpr std::int64_t reference_test_images = 1200;

class trainer {
 public:
  trainer(const experiment_config& cfg, network<float>& net, const mnist_data& data, rng& r);

  // Trains epochs from next_epoch() up to train.epochs. When *stop becomes
  // true, finishes the current step and returns early (stopped() says so).
  void run(training_observer& obs, const std::atomic<bool>* stop = nullptr);
  bool stopped() const { return stopped_; }

  // Losses of the current weights on the test set.
  test_record test();

  const objective<float>& objective_terms() const { return objective_; }
  optimizer<float>& optim() { return *optimizer_; }
  // The epoch run() starts with. A resume restores the network's parameters,
  // the optimiser's state() and steps(), the rng, and this; nothing else here
  // carries over from one epoch to the next (the batch order is redrawn from
  // the rng at every epoch start). Keep it so: state added to the training
  // loop must go into the checkpoint too (experiment/checkpoint.hpp), or
  // resumed runs stop being bitwise exact (tests/test_resume.cpp).
  int next_epoch() const { return next_epoch_; }
  void set_next_epoch(int e) { next_epoch_ = e; }

 private:
  const experiment_config& cfg_;
  network<float>& net_;
  const mnist_data& data_;
  rng& rng_;
  objective<float> objective_;
  std::unique_ptr<optimizer<float>> optimizer_;
  minibatcher batches_;
  tensor<float> x_, scratch_;
  int next_epoch_ = 0;
  bool stopped_ = false;
};

}  // namespace saelab
