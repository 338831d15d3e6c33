#pragma once
// The model the checkpoint fuzz target loads into, and the seed checkpoint
// written from it (fuzz/write_seed_checkpoint): fc with one hidden unit, so
// a whole checkpoint is ~40 KB and libFuzzer mutates it quickly.

#include <memory>

#include "config/config.hpp"
#include "experiment/checkpoint.hpp"
#include "experiment/model.hpp"
#include "optim/optimizer.hpp"
#include "tensor/rng.hpp"

namespace saelab::fuzz {

struct checkpoint_fixture {
  experiment_config config;
  std::unique_ptr<network<float>> net;
  std::unique_ptr<adam<float>> opt;
  rng r{1};

  checkpoint_fixture() {
    config.model.hidden = 1;
    net = build_model<float>(config.model, shape{1, 28, 28});
    net->init(r);
    opt = std::make_unique<adam<float>>(net->params().numel(), config.optim.lr, config.optim.beta1,
                                        config.optim.beta2, config.optim.eps);
  }
};

}  // namespace saelab::fuzz
