#pragma once
// Optimisers: one flat loop over the network's parameter buffer, after llm.c.
// step() reads the gradient buffer; clearing it is the trainer's job.

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.hpp"

namespace saelab {

template <class T>
class optimizer {
 public:
  virtual ~optimizer() = default;
  virtual std::string describe() const = 0;
  // p [P] -= update(g [P])
  virtual void step(tensor<T>& params, const tensor<T>& grads) = 0;
  // The state a checkpoint must keep (moment buffers) and the step count.
  virtual std::vector<tensor<T>*> state() = 0;
  virtual std::int64_t steps() const = 0;
  virtual void set_steps(std::int64_t t) = 0;
  virtual double learning_rate() const = 0;
};

// PyTorch's SGD: v = momentum * v + g; p -= lr * v (no dampening).
template <class T>
class sgd final : public optimizer<T> {
 public:
  sgd(std::int64_t n, double lr, double momentum);
  std::string describe() const override;
  void step(tensor<T>& params, const tensor<T>& grads) override;
  std::vector<tensor<T>*> state() override { return {&velocity_}; }
  std::int64_t steps() const override { return t_; }
  void set_steps(std::int64_t t) override { t_ = t; }
  double learning_rate() const override { return lr_; }

 private:
  double lr_, momentum_;
  std::int64_t t_ = 0;
  tensor<T> velocity_;  // [P]
};

// PyTorch's Adam, exactly: bias-corrected moments, eps added after the
// square root of the corrected second moment:
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//   p -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
// with 1-b1 and 1-b2 computed in double and rounded to T once, as
// torch.optim.Adam passes them (Python floats) to its tensor ops. (PyTorch
// 1.13, Debian 12's, adds (1-b1) g to b1 m as written here; PyTorch 2
// computes m with lerp, which rounds differently in the last bit.)
template <class T>
class adam final : public optimizer<T> {
 public:
  adam(std::int64_t n, double lr, double beta1, double beta2, double eps);
  std::string describe() const override;
  void step(tensor<T>& params, const tensor<T>& grads) override;
  std::vector<tensor<T>*> state() override { return {&m_, &v_}; }
  std::int64_t steps() const override { return t_; }
  void set_steps(std::int64_t t) override { t_ = t; }
  double learning_rate() const override { return lr_; }

 private:
  double lr_, beta1_, beta2_, eps_;
  std::int64_t t_ = 0;
  tensor<T> m_, v_;  // [P]
};

extern template class sgd<float>;
extern template class sgd<double>;
extern template class adam<float>;
extern template class adam<double>;

}  // namespace saelab
