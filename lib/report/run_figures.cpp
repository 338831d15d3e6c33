#include "report/run_figures.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "report/atomic_write.hpp"
#include "report/quote.hpp"

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

std::vector<int> most_active_units(std::span<const double> active_fraction, int n) {
  std::vector<int> units(active_fraction.size());
  std::iota(units.begin(), units.end(), 0);
  std::stable_sort(units.begin(), units.end(), [&](int a, int b) {
    return active_fraction[static_cast<std::size_t>(a)] > active_fraction[static_cast<std::size_t>(b)];
  });
  units.resize(std::min(units.size(), static_cast<std::size_t>(std::max(n, 0))));
  return units;
}

namespace {

// The site whose units are the fc encoder's outputs: the first measured site
// after the encoder with one value per encoder row. -1 when there is none.
int encoder_site(const network<float>& net, int encoder_layer, std::int64_t units,
                 std::span<const site_activity> activity) {
  for (std::size_t s = 0; s < activity.size() && s < net.sites().size(); ++s) {
    const auto& site = net.sites()[s];
    if (site.activation > encoder_layer && net.activation_shape(site.activation).numel() == units &&
        static_cast<std::int64_t>(activity[s].active_fraction.size()) == units)
      return static_cast<int>(s);
  }
  return -1;
}

// The fc encoder rows of the 100 most active units, most active first, and
// their caption in fig/filters.txt.
void write_fc_filters(const fs::path& fig, const network<float>& net, const float* w, std::int64_t rows,
                      int encoder_layer, const shape& in, std::span<const site_activity> activity) {
  const int h = static_cast<int>(in[1]), wd = static_cast<int>(in[2]);
  const std::size_t pixels = static_cast<std::size_t>(h) * wd;
  const int s = encoder_site(net, encoder_layer, rows, activity);
  std::vector<int> units;
  std::string caption;
  if (s >= 0) {
    units = most_active_units(activity[static_cast<std::size_t>(s)].active_fraction, 100);
    caption = fmt::format(
        "# filters.png: encoder rows of the {} units of site {} that fire most often on the test set,\n"
        "# highest firing fraction first, tiles row by row\n# tile unit firing_fraction\n",
        units.size(), one_line(net.sites()[static_cast<std::size_t>(s)].name));
    for (std::size_t t = 0; t < units.size(); ++t)
      caption += fmt::format("{} {} {:.6g}\n", t, units[t],
                             activity[static_cast<std::size_t>(s)].active_fraction[static_cast<std::size_t>(units[t])]);
  } else {
    units.resize(static_cast<std::size_t>(std::min<std::int64_t>(rows, 100)));
    std::iota(units.begin(), units.end(), 0);
    caption = fmt::format("# filters.png: encoder rows of the first {} units (no firing fractions measured)\n",
                          units.size());
  }
  std::vector<float> picked;
  picked.reserve(units.size() * pixels);
  for (int u : units) picked.insert(picked.end(), w + u * pixels, w + (u + 1) * pixels);
  filter_figure(fig, picked, static_cast<int>(units.size()), h, wd);
  write_file_atomically(fig / "filters.txt", caption);
}

}  // namespace

void write_filter_figure(const fs::path& fig, const network<float>& net, std::span<const site_activity> activity) {
  const auto params = net.parameter_list();
  const auto first = std::find_if(params.begin(), params.end(), [](const auto& p) { return p.tensor.name == "weight"; });
  if (first == params.end()) return;
  const param_tensor& t = first->tensor;
  const shape& in = net.activation_shape(first->layer);
  const std::string kind = net.at(first->layer).kind();
  const float* w = net.params().data() + t.offset;
  const auto n = static_cast<std::size_t>(t.dims.numel());
  if (kind == "linear" && in.rank() == 3 && in[0] == 1) {  // weight [out, H * W]: one image per unit
    write_fc_filters(fig, net, w, t.dims[0], first->layer, in, activity);
  } else if (kind == "conv2d") {  // weight [out, in, k, k]: one tile per kernel
    filter_figure(fig, {w, n}, static_cast<int>(t.dims[0] * t.dims[1]), static_cast<int>(t.dims[2]),
                  static_cast<int>(t.dims[3]));
  }
}

std::string write_run_figures(const fs::path& fig, network<float>& net, const tensor<float>& test_images,
                              std::span<const epoch_losses> curve, std::span<const step_loss> steps,
                              std::span<const epoch_sparsity> sparsity, std::span<const site_activity> activity) {
  std::string failures;
  try_figure("reconstruction", failures, [&] { write_reconstruction_figure(fig, net, test_images); });
  try_figure("filter", failures, [&] { write_filter_figure(fig, net, activity); });
  try_figure("loss curve", failures, [&] { loss_curves(fig, curve); });
  try_figure("step loss", failures, [&] { step_loss_curve(fig, steps); });
  try_figure("sparsity curve", failures, [&] {
    std::vector<std::string> names;
    for (const auto& s : net.sites()) names.push_back(s.name);
    sparsity_curves(fig, names, sparsity);
  });
  try_figure("rho_hat histogram", failures, [&] {
    for (std::size_t s = 0; s < activity.size() && s < net.sites().size(); ++s)
      rho_hat_histogram(fig, net.sites()[s].name, activity[s].rho_hat);
  });
  try_figure("firing density", failures, [&] {
    for (std::size_t s = 0; s < activity.size() && s < net.sites().size(); ++s)
      firing_density(fig, net.sites()[s].name, activity[s].active_fraction, activity[s].inputs);
  });
  return failures;
}

}  // namespace saelab
