#pragma once
// Checkpoints: everything a run needs to continue bit for bit, in one HDF5
// file (model.h5), written at every epoch end.
//
//   save_checkpoint("run/model.h5", net, opt, r, {config_text, optim_kind::adam, 3});
//   ...a new process, the same config...
//   auto net = build_model<float>(cfg.model, shape{1, 28, 28});
//   checkpoint_info info = load_checkpoint("run/model.h5", *net, &opt, &r);
//   trainer.set_next_epoch(info.next_epoch);            // and train on
//
// Layout (h5dump -H shows it; every dataset has `units` and `description`):
//   /                 attrs format = "saelab-checkpoint", format_version, program_version,
//                     next_epoch, param_count, optimizer, optimizer_steps, saved_at (UTC)
//   /config           the resolved config text (to_ini), a string dataset
//   /model_summary    network::summary(), a string dataset: the architecture
//   /layer_list       the model as a model.layers list (presets expanded)
//   /layers/NN_kind/weight, /bias    the parameters, one group per layer, in
//                     PyTorch's shapes (see weights_file.hpp)
//   /optimizer/NAME   float [P] per state buffer, flat in the network's
//                     buffer order (adam: m, v; sgd: velocity)
//   /rng              the mt19937_64 state text
//   /                 attr payload_checksum: FNV-1a over the config, the
//                     summary, param_count, optimizer, optimizer_steps,
//                     next_epoch, the tensors' checksums and the rng state
//
// Older formats still load: 2 kept the parameters flat in /params (with
// /layers as copies) and resumes; 1 (no payload_checksum) is evaluated only.
//
// The data cursor is next_epoch alone: checkpoints are taken at epoch ends and
// the minibatcher reshuffles from the rng at each epoch start.
//
// Saving writes PATH.tmp, syncs it, and renames it over PATH, so PATH is always
// either the previous complete checkpoint or the new one. Loading reads and
// checks everything before it touches the network, optimiser or rng: a
// mismatched or corrupt file throws checkpoint_error (one line naming the file
// and what differed) and leaves them as they were.

#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "experiment/weights_file.hpp"
#include "config/ini.hpp"  // ini_values, for this header's users
#include "layers/network.hpp"
#include "optim/optimizer.hpp"
#include "tensor/rng.hpp"

namespace saelab {

inline constexpr const char* checkpoint_format = "saelab-checkpoint";
// 2 added payload_checksum, 3 the per-layer /layers as the parameters.
// Version 1 files still load for evaluation (no optimiser, no rng); resuming
// from one is refused.
inline constexpr int checkpoint_format_version = 3;
// What a checkpoint may declare before anything is allocated for it: 2^28
// parameters (1 GiB of float; the largest model a config allows,
// model.hidden = 65536, has 103 M) and epochs that fit train.epochs' int.
inline constexpr std::int64_t checkpoint_max_params = std::int64_t{1} << 28;
inline constexpr std::int64_t checkpoint_max_epochs = std::numeric_limits<int>::max();

// What save_checkpoint records besides the tensors.
struct checkpoint_meta {
  std::string config;  // to_ini text of the run's resolved config
  optim_kind optimizer = optim_kind::adam;
  int next_epoch = 0;  // epochs finished; training continues with this 0-based epoch
};

// What a checkpoint says about itself (everything but the tensors).
struct checkpoint_info {
  std::string config;
  std::string model_summary;
  std::int64_t param_count = 0;
  std::string optimizer;  // "adam", "sgd"
  std::int64_t optimizer_steps = 0;
  int next_epoch = 0;
  std::string program_version;
  std::string saved_at;
  int format_version = checkpoint_format_version;
};

// Throws checkpoint_error when the file cannot be written; PATH is untouched then.
void save_checkpoint(const std::filesystem::path& path, const network<float>& net, optimizer<float>& opt,
                     const rng& r, const checkpoint_meta& meta);

// The weights alone (optimizer = "none", no optimiser state): evaluated and
// used by model.init_from like any checkpoint; resuming from it is refused.
void save_weights(const std::filesystem::path& path, const network<float>& net, const std::string& config,
                  int next_epoch);

// The metadata only, e.g. to rebuild the model from the stored config before
// loading it. Throws checkpoint_error for a file that is not a readable checkpoint.
checkpoint_info read_checkpoint_info(const std::filesystem::path& path);

// Checks the stored model signature (summary and parameter count) against
// `net`, and the optimiser kind and buffers against `opt` when given, then
// loads the parameters, the optimiser state (when opt) and the rng state
// (when r). Throws checkpoint_error, changing nothing, on any mismatch.
checkpoint_info load_checkpoint(const std::filesystem::path& path, network<float>& net, optimizer<float>* opt,
                                rng* r);

// "" when every parameter is finite, else the first one that is not, e.g.
// "/layers/00_linear/weight[17] = nan": its place in a checkpoint.
std::string non_finite_parameter(const network<float>& net);

// The config a checkpoint was trained with, then `overrides` ("section.key"
// -> value) on top. A stored config that does not load throws
// checkpoint_error naming `path`; a bad override throws config_error.
experiment_config stored_config(const checkpoint_info& info, const std::filesystem::path& path,
                                const std::map<std::string, std::string>& overrides = {});

// The program version written into checkpoints (meson's project version).
const char* program_version();
// `git describe --always --dirty` of the source tree at build time, or "unknown".
const char* git_revision();

}  // namespace saelab
