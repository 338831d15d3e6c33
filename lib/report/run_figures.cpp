#include "report/run_figures.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>

namespace saelab {

namespace fs = std::filesystem;

namespace {

// One figure's failure (e.g. a full disk) costs that figure, not the run:
// the model is trained and saved, and sae-eval redraws the reconstructions.
template <class F>
void try_figure(const char* what, std::string& failures, F draw) {
  try {
    draw();
  } catch (const std::exception& e) {
    fmt::print(stderr, "sae-train: warning: {} figure not written: {}\n", what, e.what());
    failures += fmt::format("{}{} figure not written", failures.empty() ? "" : "; ", what);
  }
}

}  // namespace

fs::path write_reconstruction_figure(const fs::path& dir, network<float>& net, const tensor<float>& test_images) {
  const std::int64_t n = std::min<std::int64_t>(10, test_images.size(0));
  const tensor<float> x = test_images.slice(0, n).clone();  // [n, 1, 28, 28]
  const tensor<float>& logits = net.forward(x);              // [n, output...]
  if (logits.numel() != x.numel())
    throw std::invalid_argument(fmt::format("reconstruction figure: the model's output {} is not image-sized {}",
                                            logits.dims().str(), x.dims().str()));
  tensor<float> y(x.dims());
  for (std::int64_t i = 0; i < y.numel(); ++i) y[i] = 1.0f / (1.0f + std::exp(-logits[i]));
  return reconstruction_figure(dir, x, y);
}

// Encoder filters: the first layer with parameters. An fc encoder row is one
// input-sized image (first 100 units); conv kernels are k x k tiles.
void write_filter_figure(const fs::path& fig, const network<float>& net) {
  const auto params = net.parameter_list();
  const auto first = std::find_if(params.begin(), params.end(), [](const auto& p) { return p.tensor.name == "weight"; });
  if (first == params.end()) return;
  const param_tensor& t = first->tensor;
  const shape& in = net.activation_shape(first->layer);
  const std::string kind = net.at(first->layer).kind();
  const float* w = net.params().data() + t.offset;
  const auto n = static_cast<std::size_t>(t.dims.numel());
  if (kind == "linear" && in.rank() == 3 && in[0] == 1) {  // weight [out, H * W]: one image per unit
    const auto units = static_cast<int>(std::min<std::int64_t>(t.dims[0], 100));
    filter_figure(fig, {w, n}, units, static_cast<int>(in[1]), static_cast<int>(in[2]));
  } else if (kind == "conv2d") {  // weight [out, in, k, k]: one tile per kernel
    filter_figure(fig, {w, n}, static_cast<int>(t.dims[0] * t.dims[1]), static_cast<int>(t.dims[2]),
                  static_cast<int>(t.dims[3]));
  }
}

std::string write_run_figures(const fs::path& fig, network<float>& net, const tensor<float>& test_images,
                              std::span<const epoch_losses> curve, std::span<const site_activity> activity) {
  std::string failures;
  try_figure("reconstruction", failures, [&] { write_reconstruction_figure(fig, net, test_images); });
  try_figure("filter", failures, [&] { write_filter_figure(fig, net); });
  try_figure("loss curve", failures, [&] { loss_curves(fig, curve); });
  try_figure("rho_hat histogram", failures, [&] {
    for (std::size_t s = 0; s < activity.size() && s < net.sites().size(); ++s)
      rho_hat_histogram(fig, net.sites()[s].name, activity[s].rho_hat);
  });
  return failures;
}

}  // namespace saelab
