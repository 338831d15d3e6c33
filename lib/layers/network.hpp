#pragma once
// A sequential network that owns its layers, the tape of activations and the
// one flat parameter buffer (after mlpack and llm.c).
//
// Activation i is the input for i = 0 and the output of layer i-1 otherwise.
// A layer's output may be named as a *site*: the place a sparsity penalty
// attaches and the activation log records.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "layers/layer.hpp"

namespace saelab {

template <class T>
class network {
 public:
  explicit network(shape input);  // per-sample input shape, e.g. [1, 28, 28]

  // Appends a layer; a non-empty `site` names its output.
  void add(std::unique_ptr<layer<T>> l, std::string site = "");
  // Allocates the flat parameter and gradient buffers and binds every layer
  // to its slice; call once after the last add().
  void finalize();
  // PyTorch-style default initialisation of every parameter, in layer order.
  void init(rng& r);

  tensor<T>& params() { return params_; }  // [P]
  tensor<T>& grads() { return grads_; }    // [P], mirrors params
  const tensor<T>& params() const { return params_; }

  // x [N, input...]; returns the output of the last layer.
  const tensor<T>& forward(const tensor<T>& x);

  // Called with (activation index, its gradient) once that gradient is
  // complete from above, so a penalty on that activation can add its term
  // before it flows further down.
  using grad_hook = std::function<void(int, tensor<T>&)>;
  // dy is the gradient w.r.t. the output of layer `top` (activation top+1);
  // the hook may add into it. Gradients w.r.t. the input are not computed.
  void backward(tensor<T>& dy, int top, const grad_hook& hook);
  void backward(tensor<T>& dy, const grad_hook& hook) { backward(dy, size() - 1, hook); }

  int size() const { return static_cast<int>(layers_.size()); }
  layer<T>& at(int i) { return *layers_[static_cast<std::size_t>(i)]; }
  const layer<T>& at(int i) const { return *layers_[static_cast<std::size_t>(i)]; }
  const tensor<T>& activation(int i) const { return acts_[static_cast<std::size_t>(i)]; }
  const shape& activation_shape(int i) const { return shapes_[static_cast<std::size_t>(i)]; }  // per sample
  std::int64_t param_offset(int layer_index) const { return offsets_[static_cast<std::size_t>(layer_index)]; }

  // "03_conv2d": the layer's index and kind, the one name checkpoints, run
  // logs and figures give a layer (zero-padded so listings sort in order).
  std::string layer_name(int layer_index) const;
  // Every parameter tensor of the network, in buffer order.
  struct parameter {
    int layer;                // its layer's index
    std::string group;        // layer_name(layer)
    param_tensor tensor;      // tensor.offset is into the flat buffer here
  };
  std::vector<parameter> parameter_list() const;

  // Named sites, in network order.
  struct site {
    std::string name;
    int activation;  // index into the tape
  };
  const std::vector<site>& sites() const { return sites_; }
  // Throws std::invalid_argument listing the known names when absent.
  const site& find_site(const std::string& name) const;

  // Whether activation i is bounded in [0, 1] whatever the parameters.
  bool in_unit_interval(int activation) const;

  // The model.layers text the network was built from (set by build_model).
  const std::string& layer_list() const { return layer_list_; }
  void set_layer_list(std::string text) { layer_list_ = std::move(text); }

  // One line per layer: index, description, output shape, parameters.
  std::string summary() const;

  // Wall-clock seconds, summed over calls while a timing is attached
  // (sae-bench's per-layer breakdown; two clock reads per layer call).
  struct timing {
    std::vector<double> forward, backward;  // [size()] per layer
    double hooks = 0;                       // in grad_hook calls during backward
  };
  // Attaches t (sized and zeroed here), or detaches with nullptr.
  void set_timing(timing* t);

 private:
  std::vector<std::unique_ptr<layer<T>>> layers_;
  std::vector<shape> shapes_;  // per-sample shape of each activation
  std::vector<std::int64_t> offsets_;
  std::vector<site> sites_;
  std::vector<tensor<T>> acts_;
  tensor<T> params_, grads_;
  tensor<T> scratch_[2];  // input gradients, alternating down the network
  std::string layer_list_;
  bool finalized_ = false;
  timing* timing_ = nullptr;
};

extern template class network<float>;
extern template class network<double>;

}  // namespace saelab
