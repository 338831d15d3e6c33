#pragma once
// What a training run is made of, built from its config in the order that
// makes it reproducible: the MNIST data, the rng seeded with run.seed, the
// network initialised from that rng (or model.init_from), and the trainer (which goes on drawing
// the batch order from the same rng).
//
//   blas::set_threads(cfg.run.threads);
//   training_session s(cfg);             // cfg must outlive s: the trainer keeps it
//   s.t.run(observer);
//
// Neither copyable nor movable: the trainer refers to the other members.

#include <memory>

#include "config/config.hpp"
#include "data/idx.hpp"
#include "experiment/trainer.hpp"
#include "layers/network.hpp"
#include "tensor/rng.hpp"

namespace saelab {

// from_config: random from the seed, then model.init_from when set.
// checkpoint: random from the seed only (a checkpoint loaded next replaces
// them; model.init_from's file need not exist any more).
enum class initial_weights { from_config, checkpoint };

struct training_session {
  explicit training_session(const experiment_config& cfg, initial_weights weights = initial_weights::from_config);
  training_session(const training_session&) = delete;
  training_session& operator=(const training_session&) = delete;

  mnist_data data;
  rng r;
  std::unique_ptr<network<float>> net;
  trainer t;
};

}  // namespace saelab
