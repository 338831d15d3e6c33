// Weights that travel: PyTorch's initial weights, exported by the PyTorch
// side of bench/ (bench/saelab_weights.py), start a saelab model that gives
// PyTorch's first-batch loss to 1e-6 relative. Skipped (with a warning) where
// /usr/bin/python3 has no torch or h5py (Debian: python3-torch, python3-h5py).

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>

#include "experiment/model.hpp"
#include "experiment/objective.hpp"
#include "experiment/weights_file.hpp"
#include "fake_mnist.hpp"

using namespace saelab;
using namespace saelab::testing;

namespace {

bool have_torch() {
  return std::system("/usr/bin/python3 -c 'import torch, h5py' > /dev/null 2>&1") == 0;
}

// PyTorch's loss of the first `batch` training images with its initial
// weights, which it writes to `weights`.
double torch_first_loss(const std::string& config, const fs::path& data, const fs::path& weights,
                        const fs::path& out, int batch) {
  const std::string cmd =
      fmt::format("/usr/bin/python3 bench/torch_sae.py '{}' --data '{}' --batch {} --threads 1 --export-init '{}' > '{}' 2>&1",
                  config, data.string(), batch, weights.string(), out.string());
  const int rc = std::system(cmd.c_str());
  INFO(slurp(out));
  REQUIRE((WIFEXITED(rc) && WEXITSTATUS(rc) == 0));
  const std::string text = slurp(out);
  const auto at = text.find("first_loss=");
  REQUIRE(at != std::string::npos);
  return std::stod(text.substr(at + 11));
}

double saelab_first_loss(const std::string& config, const fs::path& data, const fs::path& weights, int batch) {
  const experiment_config cfg = load_config(config, {"--model.init_from=" + weights.string()});
  const tensor<float> images = read_idx_images((data / "train-images-idx3-ubyte").string());
  tensor<float> x({batch, 1, 28, 28});
  std::copy(images.data(), images.data() + x.numel(), x.data());
  auto net = build_model<float>(cfg.model, shape{1, 28, 28});
  init_from_file(cfg.model.init_from, *net);
  objective<float> obj(*net, cfg.train.loss, cfg.sparsity);
  net->forward(x);
  return obj.evaluate(x, false).total();
}

}  // namespace

TEST_CASE("weights exported from PyTorch give PyTorch's first loss", "[weights][torch]") {
  if (!have_torch()) {
    WARN("/usr/bin/python3 has no torch or h5py (Debian: python3-torch, python3-h5py): not checked");
    return;
  }
  temp_dir tmp("torch_weights");
  write_fake_mnist(tmp / "mnist", 240, 10);
  for (const char* config : {"configs/fc_kl.ini", "configs/fc_l1.ini", "configs/seed_kl.ini", "configs/seed_l1.ini",
                             "configs/conv_kl.ini"}) {
    INFO(config);
    const fs::path w = tmp / (fs::path(config).stem().string() + ".h5");
    const double theirs = torch_first_loss(config, tmp / "mnist", w, tmp / "torch.txt", 120);
    const double ours = saelab_first_loss(config, tmp / "mnist", w, 120);
    CHECK(ours == Approx(theirs).epsilon(1e-6));
  }
}
