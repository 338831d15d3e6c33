#pragma once
// The run's own training observers: what the runner writes at every step and
// epoch besides run.h5 (runner.hpp has the run directory they fill, and the
// order they must run in).
//
//   csv_log csv(dir / "epochs.csv", first_epoch);
//   epoch_printer printer(cfg.train.epochs, net);
//   checkpointer ckpt(dir, cfg, to_ini(recorded_cfg), net, opt, r, first_epoch);
//   fan_out all({&bar, &csv, &log, &printer, &ckpt});   // the checkpoint last
//   t.run(all, stop);

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "experiment/trainer.hpp"
#include "layers/network.hpp"
#include "optim/optimizer.hpp"
#include "report/figures.hpp"
#include "tensor/rng.hpp"

namespace saelab {

// DIR/epochs.csv, rewritten whole (atomically) each epoch: it is small.
class csv_log final : public training_observer {
 public:
  static constexpr const char* header =
      "epoch,loss,reconstruction,penalty,test_bce,test_bce_first1200,test_mse,train_seconds\n";

  // Starts a new table, or (keep > 0, a resume) keeps the rows of epochs
  // 1..keep of the existing one and drops any later row.
  csv_log(std::filesystem::path path, int keep);
  void on_step(const step_record&) override {}
  void on_epoch(const epoch_record& e) override;
  // Every row so far, for the loss-curve figure.
  const std::vector<epoch_losses>& rows() const { return rows_; }

 private:
  std::filesystem::path path_;
  std::string text_;
  std::vector<epoch_losses> rows_;
};

// Prints one line per epoch on stdout, and the test-set activity per site.
class epoch_printer final : public training_observer {
 public:
  epoch_printer(int epochs, const network<float>& net) : epochs_(epochs), net_(net) {}
  void on_step(const step_record&) override {}
  void on_epoch(const epoch_record& e) override;

 private:
  int epochs_;
  const network<float>& net_;
};

// Saves DIR/model.h5 at every epoch end, then records the epoch in DIR/status.
// It must come after every log observer: the checkpoint is the truth about
// finished epochs.
class checkpointer final : public training_observer {
 public:
  // config_text: the config as model.h5 records it (to_ini, run.out empty).
  checkpointer(std::filesystem::path dir, const experiment_config& cfg, std::string config_text,
               network<float>& net, optimizer<float>& opt, rng& r, int epochs_done);

  void on_step(const step_record&) override { ++steps_since_; }
  void on_epoch(const epoch_record& e) override;
  int epochs_done() const { return epochs_done_; }
  // Steps taken since the last checkpoint: work a stop throws away.
  std::int64_t steps_since() const { return steps_since_; }
  const std::optional<epoch_record>& last() const { return last_; }

 private:
  std::filesystem::path dir_;
  const experiment_config& cfg_;
  std::string config_text_;
  network<float>& net_;
  optimizer<float>& opt_;
  rng& r_;
  int epochs_done_;
  std::int64_t steps_since_ = 0;
  std::optional<epoch_record> last_;
};

// Calls every observer given (null ones skipped) in order.
class fan_out final : public training_observer {
 public:
  explicit fan_out(std::vector<training_observer*> all);
  void on_step(const step_record& s) override;
  void on_epoch(const epoch_record& e) override;

 private:
  std::vector<training_observer*> all_;
};

}  // namespace saelab
