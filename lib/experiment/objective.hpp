#pragma once
// The training objective: reconstruction loss on the network's logits plus
// sparsity penalties on named sites, each term reported apart.
//
//   net.forward(x);
//   auto terms = obj.evaluate(x, true);   // losses, and gradients ready
//   obj.backward();                       // into net.grads() (accumulating)

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "layers/network.hpp"
#include "loss/penalty.hpp"
#include "train/records.hpp"

namespace saelab {

template <class T>
class objective {
 public:
  // The loss is taken of sigmoid(logits). Throws std::invalid_argument for an
  // unknown site, or a KL penalty on a site not bounded in [0, 1].
  objective(network<T>& net, loss_kind loss, const sparsity_config& sparsity);

  struct terms {
    double reconstruction = 0;
    std::vector<double> site_penalty;  // one per penalised site, in sites() order
    double penalty() const;
    double total() const { return reconstruction + penalty(); }
  };

  // Call after net.forward(input); target [N, ...] is the clean input.
  terms evaluate(const tensor<T>& target, bool need_grad);
  // Backpropagates the gradients of the last evaluate(need_grad = true); the
  // penalties' are taken from the network's tape, so call it before the
  // next net.forward.
  void backward();

  struct penalised_site {
    std::string name;
    int activation;
    std::unique_ptr<penalty<T>> term;
  };
  const std::vector<penalised_site>& sites() const { return sites_; }
  std::string describe() const;
  // The penalised sites and their terms' descriptions, as the logs record them.
  std::vector<penalty_info> penalties() const;

 private:
  network<T>& net_;
  loss_kind loss_;
  std::vector<penalised_site> sites_;
  tensor<T> probs_, dlogits_;
};

// Reconstruction error of logits z against targets, with sigmoid outputs.
struct reconstruction_error {
  double bce = 0, mse = 0;
};
template <class T>
reconstruction_error reconstruction_errors(const tensor<T>& logits, const tensor<T>& target, tensor<T>& scratch);

extern template class objective<float>;
extern template class objective<double>;

}  // namespace saelab
