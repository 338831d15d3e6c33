#pragma once
// Sparsity penalties on one activation site a [N, units...]. A unit is one
// element of a sample's activation (for a conv site, one channel at one
// position), and rho_hat_j is unit j's mean activation over the batch.
//
// evaluate() returns the penalty's value and, when asked, OVERWRITES da with
// its gradient. add_gradient() ADDS the same gradient into da: what the
// objective does to the activation's gradient on the way down, without a
// gradient tensor per site. Values are reported apart from the
// reconstruction loss.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.hpp"

namespace saelab {

template <class T>
class penalty {
 public:
  virtual ~penalty() = default;
  virtual std::string describe() const = 0;
  virtual double evaluate(const tensor<T>& a, tensor<T>* da) const = 0;
  // da [N, units...] += d penalty / d a
  virtual void add_gradient(const tensor<T>& a, tensor<T>& da) const = 0;
  // Whether the penalty is only defined for activations in [0, 1].
  virtual bool needs_unit_interval() const = 0;
};

// Bernoulli KL divergence between a target rate rho and each unit's rate:
//   beta * sum_j [rho log(rho/rho_hat_j) + (1-rho) log((1-rho)/(1-rho_hat_j))]
// with rho_hat_j clamped to [eps, 1-eps] (zero gradient where clamped).
template <class T>
class kl_penalty final : public penalty<T> {
 public:
  kl_penalty(double rho, double beta, double eps = 1e-6);
  std::string describe() const override;
  double evaluate(const tensor<T>& a, tensor<T>* da) const override;
  void add_gradient(const tensor<T>& a, tensor<T>& da) const override;
  bool needs_unit_interval() const override { return true; }

 private:
  // beta * d KL / d a_nj for each unit j, from the units' means over N samples
  std::vector<T> slopes(const std::vector<double>& mean, std::int64_t n) const;
  double rho_, beta_, eps_;
};

enum class l1_reduction {
  sum,   // lambda * (1/N) sum_n sum_i |a_ni|: per-sample total
  mean,  // lambda * mean of |a| over every element (the reference)
};

template <class T>
class l1_penalty final : public penalty<T> {
 public:
  l1_penalty(double lambda, l1_reduction reduction);
  std::string describe() const override;
  double evaluate(const tensor<T>& a, tensor<T>* da) const override;
  void add_gradient(const tensor<T>& a, tensor<T>& da) const override;
  bool needs_unit_interval() const override { return false; }

 private:
  double divisor(const tensor<T>& a) const;  // N (sum) or every element (mean)
  double lambda_;
  l1_reduction reduction_;
};

// The reference code's "KL": PyTorch kl_div(input = rho_hat, target = rho),
// mean reduction, i.e. per site mean_j rho (log rho - rho_hat_j), and
// beta * |sum over sites|. For non-negative activations every term is
// negative, so this is, per site, beta * rho * (mean_j rho_hat_j - log rho):
// an L1 penalty of weight beta*rho on the mean activation plus a constant.
template <class T>
class seed_kl_penalty final : public penalty<T> {
 public:
  seed_kl_penalty(double rho, double beta);
  std::string describe() const override;
  double evaluate(const tensor<T>& a, tensor<T>* da) const override;
  void add_gradient(const tensor<T>& a, tensor<T>& da) const override;
  bool needs_unit_interval() const override { return false; }

 private:
  double kl_div(const tensor<T>& a) const;  // before beta and the abs
  double rho_, beta_;
};

extern template class kl_penalty<float>;
extern template class kl_penalty<double>;
extern template class l1_penalty<float>;
extern template class l1_penalty<double>;
extern template class seed_kl_penalty<float>;
extern template class seed_kl_penalty<double>;

}  // namespace saelab
