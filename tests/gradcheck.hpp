#pragma once
// The gradient checker every layer, loss and penalty test shares (after
// Caffe): central differences in double precision, each error scaled by
// max(|analytic|, |numeric|, 1). Failures name the thing, the tensor and
// the index.

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "layers/layer.hpp"
#include "tensor/rng.hpp"
#include "tensor/tensor.hpp"

namespace saelab::testing {

struct grad_options {
  double step = 1e-6;
  double tolerance = 1e-6;
};

// Compares analytic[i] with (f(v + h e_i) - f(v - h e_i)) / 2h for every
// element of `values` (modified in place and restored).
inline void check_gradient(const std::string& what, const std::function<double()>& f, double* values,
                           const double* analytic, std::int64_t n, grad_options opt = {}) {
  double worst = 0;
  std::int64_t worst_i = -1;
  double worst_a = 0, worst_n = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double saved = values[i];
    values[i] = saved + opt.step;
    const double up = f();
    values[i] = saved - opt.step;
    const double down = f();
    values[i] = saved;
    const double numeric = (up - down) / (2 * opt.step);
    const double err = std::abs(analytic[i] - numeric) / std::max({std::abs(analytic[i]), std::abs(numeric), 1.0});
    if (err > worst) {
      worst = err;
      worst_i = i;
      worst_a = analytic[i];
      worst_n = numeric;
    }
  }
  INFO(fmt::format("{}: worst relative error {:.3g} at index {} (analytic {:.10g}, numeric {:.10g})", what, worst,
                   worst_i, worst_a, worst_n));
  CHECK(worst <= opt.tolerance);
}

inline tensor<double> random_tensor(const shape& s, rng& r, double lo = -1, double hi = 1) {
  tensor<double> t(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = r.uniform(lo, hi);
  return t;
}

// Checks a layer's input gradient and every parameter gradient against
// central differences of the objective sum(y * weights), weights random.
// `params` (if the layer has any) must already be bound and initialised.
inline void check_layer_gradients(layer<double>& l, tensor<double> x, double* params, double* grads,
                                  rng& r, grad_options opt = {}) {
  const shape in = x.dims().drop_batch();
  const std::int64_t n = x.size(0);
  tensor<double> y(l.output_shape(in).batched(n));
  const tensor<double> weights = random_tensor(y.dims(), r);
  auto objective = [&] {
    l.forward(x, y);
    double s = 0;
    for (std::int64_t i = 0; i < y.numel(); ++i) s += y[i] * weights[i];
    return s;
  };
  objective();
  tensor<double> dx(x.dims());
  const std::int64_t p = l.param_count();
  std::fill(grads, grads + p, 0.0);
  l.backward(x, y, weights, &dx);
  check_gradient(l.describe() + " input", objective, x.data(), dx.data(), x.numel(), opt);
  if (p > 0) {
    const tensor<double> analytic = tensor<double>(shape{p}, grads, nullptr).clone();
    check_gradient(l.describe() + " parameters", objective, params, analytic.data(), p, opt);
  }
}

}  // namespace saelab::testing
