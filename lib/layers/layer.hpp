#pragma once
// The layer contract, after Caffe: a layer maps a batch x [N, in...] to
// y [N, out...] and back.
//
//  - forward(x, y): y is already sized by the caller (network) to
//    output_shape(in).batched(N).
//  - backward(x, y, dy, dx): x and y are the tensors of the last forward.
//    Parameter gradients ACCUMULATE into the gradient buffer (the optimiser
//    clears it once per step); the input gradient dx is OVERWRITTEN. dx may be
//    null when nobody needs it (the first layer), so the layer can skip it.
//  - Parameters live in the network's one flat buffer; bind() hands each
//    layer its slice of it and of the gradient buffer, which mirrors it.
//    parameters() says what the slice holds (names, PyTorch shapes,
//    offsets): checkpoints, logs and figures read that list, never describe().
//
// forward, backward and flops are pure so a layer cannot forget one.

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/rng.hpp"
#include "tensor/tensor.hpp"

namespace saelab {

// Floating-point operations of one sample through a layer. A multiply-add
// counts 2, an add, compare or select 1; each layer states what it counts
// for anything else. Backward is split into the input gradient (dx, which
// the network skips for its first layer) and the parameter gradients.
struct layer_flops {
  std::int64_t forward = 0;
  std::int64_t backward_input = 0;
  std::int64_t backward_weight = 0;
  std::int64_t backward() const { return backward_input + backward_weight; }
  bool operator==(const layer_flops&) const = default;
};

// One parameter tensor in a layer's slice of the flat buffer, in PyTorch's
// layout and name (a linear layer's "weight" is [out, in]).
struct param_tensor {
  std::string name;         // "weight", "bias"
  shape dims;               // e.g. [out, in, k, k]
  std::string axes;         // what each axis is, e.g. "out, in, kh, kw"
  std::int64_t offset = 0;  // into the layer's slice
};

// The usual pair: a weight of shape w, then a bias of `out` values.
std::vector<param_tensor> weight_and_bias(const shape& w, std::string axes, std::int64_t out);

template <class T>
class layer {
 public:
  virtual ~layer() = default;

  // For people only (summaries, messages): e.g. "linear(784 -> 1024)".
  virtual std::string describe() const = 0;
  // The kind, as in PyTorch's module names in snake case: "linear", "conv2d".
  virtual std::string kind() const = 0;
  // Per-sample output shape for a per-sample input shape (no batch axis).
  // Throws std::invalid_argument when the input shape does not fit.
  virtual shape output_shape(const shape& in) const = 0;

  virtual void forward(const tensor<T>& x, tensor<T>& y) = 0;
  virtual void backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy, tensor<T>* dx) = 0;
  // Exact per-sample counts for a per-sample input shape (as output_shape).
  virtual layer_flops flops(const shape& in) const = 0;

  // Parameterless layers keep these defaults.
  virtual std::vector<param_tensor> parameters() const { return {}; }
  virtual void bind(T* /*params*/, T* /*grads*/) {}
  virtual void init(rng& /*r*/) {}

  // True when every output lies in [0, 1] (sigmoid): a Bernoulli KL penalty
  // is only defined on such outputs.
  virtual bool output_in_unit_interval() const { return false; }
  // True when outputs in [0, 1] follow from inputs in [0, 1] (max pooling).
  virtual bool keeps_unit_interval() const { return false; }

  std::int64_t param_count() const {
    std::int64_t n = 0;
    for (const param_tensor& p : parameters()) n += p.dims.numel();
    return n;
  }
};

}  // namespace saelab
