#pragma once
// One experiment run from a resolved config: data, model, training, and the
// run directory that records it.

#include <atomic>
#include <string>

#include "config/config.hpp"

namespace saelab {

struct run_options {
  bool quiet = false;
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler
};

// What a run ended as.
enum class run_status { run_status_done, run_status_interrupted };

// Trains cfg to the end (or until *stop) and writes its run directory.
// Throws config_error, data_error, training_error or std::runtime_error
// with a message fit to print as it is.
run_status run_experiment(const experiment_config& cfg, const run_options& opt);

// The run directory a config goes to: run.out if set, else
// experiments/runs/<run.name>-<8 hex digits of the config's hash>.
std::string run_directory(const experiment_config& cfg);

}  // namespace saelab
