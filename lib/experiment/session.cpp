#include "experiment/session.hpp"

#include "experiment/model.hpp"

namespace saelab {

namespace {
std::unique_ptr<network<float>> initialised_model(const model_config& m, rng& r) {
  auto net = build_model<float>(m, shape{1, 28, 28});
  net->init(r);
  return net;
}
}  // namespace

training_session::training_session(const experiment_config& cfg)
    : data(load_mnist(cfg.data.dir, cfg.train.train_limit, cfg.train.test_limit)),
      r(cfg.run.seed),
      net(initialised_model(cfg.model, r)),
      t(cfg, *net, data, r) {}

}  // namespace saelab
