#include "experiment/session.hpp"

#include "experiment/model.hpp"
#include "experiment/weights_file.hpp"

namespace saelab {

namespace {
// The input shape is the data's; the rng draws the initial weights even when
// model.init_from replaces them, so the batch order stays the same either way.
std::unique_ptr<network<float>> initialised_model(const model_config& m, const mnist_data& data, rng& r,
                                                  initial_weights weights) {
  auto net = build_model<float>(m, data.train.images.dims().drop_batch());
  net->init(r);
  if (!m.init_from.empty() && weights == initial_weights::from_config) init_from_file(m.init_from, *net);
  return net;
}
}  // namespace

training_session::training_session(const experiment_config& cfg, initial_weights weights)
    : data(load_mnist(cfg.data.dir, cfg.train.train_limit, cfg.train.test_limit)),
      r(cfg.run.seed),
      net(initialised_model(cfg.model, data, r, weights)),
      t(cfg, *net, data, r) {}

}  // namespace saelab
