#pragma once
// run.h5: the HDF5 log of one training run, written as training goes (SWMR),
// so h5py (swmr=True) can watch a live run and a killed run keeps every
// finished epoch.
//
//   run_log log(dir / "run.h5", cfg, to_ini(cfg), net, data.test.images,
//               t.objective_terms().penalties(), {.program_version = "0.1.0", .git_revision = rev});
//   t.run(log);                              // a training_observer: on_step, on_epoch
//   log.set_status(run_status::done);
//
// The constructor creates every group, dataset and attribute, then starts
// SWMR writing; afterwards rows are only appended and the status overwritten
// in place. Every epoch ends with a global flush. Epoch numbers in the file
// are 1-based (epoch 1 = after the first pass over the training set), as the
// progress lines print them; row i of every per-epoch dataset is epoch i + 1.
//
// Layout (T = snapshots, E = finished epochs, S = logged steps, K = probe
// images, 100 unless the test set is smaller; "..." = the site's per-sample
// shape, e.g. [1024] for fc, [8, 26, 26] for conv1). Every dataset carries
// `units` and `description` attributes, every group a `description`. Loss
// units are nat/pixel (BCE) or intensity^2/pixel (MSE, intensities in [0, 1]).
// The /steps, /epochs and /sites series are the rows of run_schema()
// (log/run_schema.cpp, authoritative; run_series.hpp writes them). Every axis
// has a label and axis 0 of every series a dimension scale (/steps/step,
// /epochs/epoch, /probe/epochs, /weights/epochs); the root's `default` names
// /epochs, an NXdata group (signal test_bce, axes epoch), as is /steps (loss
// against step), so HDF5 viewers plot them against real axes.
//
//   /                                     attributes:
//     schema = "saelab.run", schema_version = 2, program_version, git_revision,
//     seed, start_time (ISO 8601 UTC, of the first start), status (running,
//     done, failed, interrupted; updated in place; "running" with no writer
//     alive means the writer was killed), epochs_planned,
//     resumed_after_epochs (int64[], one entry per resume), snapshot_every
//   /config                               string      the resolved INI text
//   /steps/                               every log.every_steps-th step and the last step of each epoch
//     step                                int64   [S]  optimiser steps taken (1-based)
//     epoch                               int32   [S]
//     loss, reconstruction, penalty       float64 [S]  of the training batch
//     learning_rate                       float64 [S]
//     wall_time                           float64 [S]  seconds of training since the log began (stopped time excluded)
//   /epochs/
//     epoch                               int32   [E]
//     loss, reconstruction, penalty       float64 [E]  training means over the epoch
//     test_bce, test_mse                  float64 [E]  whole test set
//     test_bce_first1200                  float64 [E]  the reference's figure
//     train_seconds, test_seconds         float64 [E]
//     wall_time                           float64 [E]
//     site_penalty                        float64 [E, P]  attribute sites = "a, b, ..." (absent if P = 0)
//   /sites                                attribute names = "conv1, conv2, ..." (network order)
//   /sites/<site>/                        every hidden site, penalised or not; attributes:
//                                         shape (int64[]), penalised (0/1), penalty (its description or ""),
//                                         layer (what produces it), active_threshold
//     rho_hat                             float32 [E, ...]  mean activation on the test set      (gzip)
//     active_fraction                     float32 [E, ...]  fraction of test inputs active on    (gzip)
//     dead                                uint8   [E, ...]  1 = never active                     (gzip)
//     lifetime_sparsity                   float32 [E, ...]  Treves-Rolls over inputs             (gzip)
//     mean_when_active                    float32 [E, ...]                                       (gzip)
//     l0, dead_fraction, dense_fraction,  float64 [E]
//     population_sparsity
//     rho_hat_histogram                   int64   [E, 24]  attribute bin_edges_log10 (float64[25], -6 to 0);
//                                         bin 0 also counts rho_hat < 1e-6 (and 0), bin 23 rho_hat >= 1
//   /probe/
//     indices                             int64   [K]       test-set rows, drawn with rng(run.seed), sorted
//     images                              uint8   [K, 28, 28]  CLASS=IMAGE
//     epochs                              int32   [T]       epochs of the snapshots
//     reconstructions                     uint8   [T, K, 28, 28]  sigmoid output * 255   (gzip)
//     activations/<site>                  float32 [T, K, ...]                            (gzip)
//   /weights/
//     epochs                              int32   [T]
//     NN_kind/                            one group per layer with parameters (network::layer_name),
//                                         attributes layer (its description), param_offset
//     NN_kind/<tensor>                    float32 [T, the tensor's dims...], each tensor of the
//                                         layer's parameters(): e.g. 02_linear/weight [T, 784, 1024],
//                                         00_conv2d/weight [T, 8, 1, 3, 3], 07_conv_transpose2d/weight
//                                         [T, in, out, k, k], NN_kind/bias [T, out]            (gzip)
//                                         a linear layer on the image: [T, out, 28, 28], one filter per unit
//     encoder_filters                     fc only: a soft link to 00_linear/weight
//
// Snapshots (probe and weights) are taken after epoch 1, the last planned
// epoch, and every snapshot_every-th epoch; snapshot_every = 0 picks
// ceil(epochs / 5): at most seven snapshots whatever the run length (20
// epochs: 1, 4, 8, 12, 16, 20).
// Rank-4 stacks are not marked CLASS=IMAGE: the HDF5 Image spec has no such
// thing (HDFView still opens any 2-D slice as an image).
//
// Resuming: run_log::reopen truncates every series to the given number of
// finished epochs and optimiser steps (a resumed log has no gaps or
// duplicates) and continues. The runner must finish run_log::on_epoch (which
// flushes) before it saves the checkpoint of that epoch, so the log never
// holds fewer epochs than a checkpoint says.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "layers/network.hpp"
#include "train/records.hpp"
#include "train/run_status.hpp"

namespace saelab {

struct run_log_info {
  std::string program_version;  // meson project version
  std::string git_revision;     // may be empty
  int probe_images = 100;       // fewer when the test set is smaller
  int snapshot_every = 0;       // 0: ceil(train.epochs / 5)
};

// Where a resumed run starts: after `epochs` finished epochs and `steps`
// optimiser steps (steps may run past the last finished epoch when the run
// was stopped mid-epoch).
struct resume_point {
  int epochs = 0;
  std::int64_t steps = 0;
};

class run_log final : public training_observer {
 public:
  // Creates (truncates) `path`. net and test_images [N, 1, 28, 28] must
  // outlive the log; the probe pass runs net.forward, overwriting its tape,
  // at snapshot epochs. Throws h5::error on I/O failure.
  run_log(const std::filesystem::path& path, const experiment_config& cfg, std::string resolved_ini,
          network<float>& net, const tensor<float>& test_images, const std::vector<penalty_info>& penalties,
          const run_log_info& info);

  // Opens an existing log for a resumed run: checks the schema and that its
  // sites, shapes and probe match this network and seed, truncates every
  // series to `at`, records the resume, sets status to running, starts SWMR.
  // Throws h5::error (I/O) or std::runtime_error (a log that does not fit, or
  // holds fewer epochs or steps than `at`).
  static run_log reopen(const std::filesystem::path& path, const experiment_config& cfg, network<float>& net,
                        const tensor<float>& test_images, const std::vector<penalty_info>& penalties, const run_log_info& info,
                        resume_point at);

  run_log(run_log&&) noexcept;
  run_log& operator=(run_log&&) = delete;
  ~run_log() override;  // flushes and closes; never throws (use close() to see errors)

  void on_step(const step_record& s) override;
  void on_epoch(const epoch_record& e) override;

  // A float64 dataset as logged so far, e.g. "/sites/hidden/l0": one value per
  // finished epoch, those before a resume included (the end-of-run figures
  // need them). Throws h5::error when absent.
  std::vector<double> read_f64(std::string_view path) const;

  // Overwrites the root `status` attribute in place, and flushes.
  void set_status(run_status s);
  // Flushes and closes; throws h5::error on failure. Further calls do nothing.
  void close();

  // Whether 1-based `epoch` of `epochs` planned gets probe and weight snapshots.
  static bool snapshot_epoch(int epoch, int epochs, int snapshot_every);
  // The probe rows: `count` distinct test-set rows drawn with rng(seed), sorted.
  static std::vector<std::int64_t> probe_indices(std::uint64_t seed, std::int64_t test_images, int count);

 private:
  struct impl;
  explicit run_log(std::unique_ptr<impl> p);
  std::unique_ptr<impl> p_;
};

}  // namespace saelab
