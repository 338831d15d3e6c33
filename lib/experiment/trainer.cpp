#include "experiment/trainer.hpp"

#include <chrono>
#include <cmath>
#include <utility>

#include <fmt/format.h>

namespace saelab {

namespace {
std::unique_ptr<optimizer<float>> make_optimizer(const optim_config& c, std::int64_t n) {
  if (c.kind == optim_kind::sgd) return std::make_unique<sgd<float>>(n, c.lr, c.momentum);
  return std::make_unique<adam<float>>(n, c.lr, c.beta1, c.beta2, c.eps);
}

// Outputting 0.5 for every pixel scores ln 2 in BCE, and at most 0.25 in
// MSE, on any image in [0, 1]. An epoch whose mean reconstruction error is
// more than twice that has learnt less than nothing: the run has diverged,
// though its loss may still be finite (saturated logits give a large finite
// BCE, not a NaN).
double diverged_above(loss_kind k) { return 2 * (k == loss_kind::bce ? std::log(2.0) : 0.25); }

// The network reshapes its input by pixel count, so images of the right count
// but the wrong shape (14x56 for 28x28) would train silently as nonsense.
// A set with no images (rank < 2) has nothing to check.
void check_images_fit(const mnist_data& data, const network<float>& net, const std::string& dir) {
  const shape& expected = net.activation_shape(0);
  for (const auto& [set, which] : {std::pair{&data.train, "training"}, std::pair{&data.test, "test"}}) {
    if (set->images.dims().rank() < 2) continue;
    const shape each = set->images.dims().drop_batch();
    if (each != expected)
      throw data_error(fmt::format("{}: {} images are {} each, but the model expects {} (channels, rows, cols)", dir,
                                   which, each.str(), expected.str()));
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

trainer::trainer(const experiment_config& cfg, network<float>& net, const mnist_data& data, rng& r)
    : cfg_(cfg),
      net_(net),
      data_(data),
      rng_(r),
      objective_(net, cfg.train.loss, cfg.sparsity),
      optimizer_(make_optimizer(cfg.optim, net.params().numel())),
      batches_(data.train.images.size(0), cfg.train.batch_size, cfg.train.shuffle) {
  check_images_fit(data, net, cfg.data.dir);
}

void trainer::run(training_observer& obs, const std::atomic<bool>* stop) {
  stopped_ = false;
  for (; next_epoch_ < cfg_.train.epochs; ++next_epoch_) {
    const auto t0 = std::chrono::steady_clock::now();
    batches_.start_epoch(rng_);
    epoch_record e;
    e.epoch = next_epoch_;
    e.site_penalty.assign(objective_.sites().size(), 0.0);
    std::int64_t seen = 0;
    for (std::int64_t b = 0; b < batches_.batches(); ++b) {
      const auto rows = batches_.batch(b);
      gather_rows(data_.train.images, rows, x_);  // [B, 1, 28, 28]
      net_.forward(x_);
      const auto terms = objective_.evaluate(x_, true);
      if (!std::isfinite(terms.total()))
        throw training_error(fmt::format(
            "training diverged at epoch {}, batch {}: loss = {} (reconstruction {}, penalty {}); "
            "try a smaller optim.lr (now {}) or sparsity weight",
            next_epoch_ + 1, b + 1, terms.total(), terms.reconstruction, terms.penalty(), cfg_.optim.lr));
      net_.grads().zero();
      objective_.backward();
      optimizer_->step(net_.params(), net_.grads());

      const auto n = static_cast<double>(rows.size());
      seen += static_cast<std::int64_t>(rows.size());
      e.loss += terms.total() * n;
      e.reconstruction += terms.reconstruction * n;
      e.penalty += terms.penalty() * n;
      for (std::size_t s = 0; s < terms.site_penalty.size(); ++s) e.site_penalty[s] += terms.site_penalty[s] * n;
      obs.on_step({next_epoch_, optimizer_->steps(), b, batches_.batches(), terms.total(), terms.reconstruction,
                   terms.penalty(), optimizer_->learning_rate()});
      if (stop && stop->load() && b + 1 < batches_.batches()) {
        stopped_ = true;
        return;
      }
    }
    const double inv = 1.0 / static_cast<double>(seen);
    e.loss *= inv;
    e.reconstruction *= inv;
    e.penalty *= inv;
    for (auto& p : e.site_penalty) p *= inv;
    if (e.reconstruction > diverged_above(cfg_.train.loss))
      throw training_error(fmt::format(
          "training diverged in epoch {}: mean train {} = {:.4g}, more than twice the {:.4g} of outputting 0.5 "
          "everywhere; try a smaller optim.lr (now {}) or sparsity weight",
          next_epoch_ + 1, to_string(cfg_.train.loss), e.reconstruction, diverged_above(cfg_.train.loss) / 2,
          cfg_.optim.lr));
    e.train_seconds = seconds_since(t0);
    const auto t1 = std::chrono::steady_clock::now();
    e.test = test();
    e.test_seconds = seconds_since(t1);
    obs.on_epoch(e);
    if (stop && stop->load()) {
      ++next_epoch_;
      stopped_ = next_epoch_ < cfg_.train.epochs;
      return;
    }
  }
}

test_record trainer::test() {
  const auto& images = data_.test.images;  // [N, 1, 28, 28]
  const std::int64_t n = images.size(0), batch = cfg_.train.batch_size;
  test_record r;
  std::vector<activity_accumulator> acc;
  for (const auto& s : net_.sites())
    acc.emplace_back(net_.activation_shape(s.activation).numel(), cfg_.log.active_threshold);
  double ref_bce = 0;
  std::int64_t ref_seen = 0;
  for (std::int64_t b0 = 0; b0 < n; b0 += batch) {
    const std::int64_t b1 = std::min(n, b0 + batch);
    const auto x = images.slice(b0, b1);
    const auto e = reconstruction_errors(net_.forward(x), x, scratch_);
    for (std::size_t s = 0; s < acc.size(); ++s) acc[s].add(net_.activation(net_.sites()[s].activation));
    const auto count = static_cast<double>(b1 - b0);
    r.bce += e.bce * count;
    r.mse += e.mse * count;
    // The reference's first-batch figure, whatever our batch size.
    const std::int64_t ref_end = std::min(b1, reference_test_images);
    if (b0 < ref_end) {
      const auto head = images.slice(b0, ref_end);
      const double bce = ref_end == b1 ? e.bce : reconstruction_errors(net_.forward(head), head, scratch_).bce;
      ref_bce += bce * static_cast<double>(ref_end - b0);
      ref_seen += ref_end - b0;
    }
  }
  r.bce /= static_cast<double>(n);
  r.mse /= static_cast<double>(n);
  r.bce_reference = ref_bce / static_cast<double>(ref_seen);
  for (const auto& a : acc) r.activity.push_back(a.finish());
  return r;
}

}  // namespace saelab
