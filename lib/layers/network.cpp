#include "layers/network.hpp"

#include <chrono>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace saelab {

namespace {
using timing_clock = std::chrono::steady_clock;
double seconds_since(timing_clock::time_point t0) {
  return std::chrono::duration<double>(timing_clock::now() - t0).count();
}
}  // namespace

template <class T>
network<T>::network(shape input) {
  shapes_.push_back(input);
}

template <class T>
void network<T>::add(std::unique_ptr<layer<T>> l, std::string site) {
  if (finalized_) throw std::logic_error("network::add after finalize");
  shapes_.push_back(l->output_shape(shapes_.back()));
  layers_.push_back(std::move(l));
  if (!site.empty()) {
    for (const auto& s : sites_)
      if (s.name == site) throw std::invalid_argument(fmt::format("network: site '{}' named twice", site));
    sites_.push_back({std::move(site), size()});
  }
}

template <class T>
void network<T>::finalize() {
  std::int64_t total = 0;
  for (const auto& l : layers_) {
    offsets_.push_back(total);
    total += l->param_count();
  }
  params_ = tensor<T>(shape{std::max<std::int64_t>(total, 1)});
  grads_ = tensor<T>(shape{std::max<std::int64_t>(total, 1)});
  for (int i = 0; i < size(); ++i) at(i).bind(params_.data() + offsets_[i], grads_.data() + offsets_[i]);
  acts_.resize(shapes_.size());
  finalized_ = true;
}

template <class T>
void network<T>::init(rng& r) {
  for (auto& l : layers_) l->init(r);
}

template <class T>
const tensor<T>& network<T>::forward(const tensor<T>& x) {
  if (!finalized_) throw std::logic_error("network::forward before finalize");
  const std::int64_t n = x.size(0);
  if (x.dims().drop_batch().numel() != shapes_[0].numel())
    throw std::invalid_argument(fmt::format("network: input {} does not fit {}", x.dims().str(), shapes_[0].str()));
  acts_[0] = x.reshaped(shapes_[0].batched(n));
  for (int i = 0; i < size(); ++i) {
    auto& y = acts_[static_cast<std::size_t>(i + 1)];
    y.resize(shapes_[static_cast<std::size_t>(i + 1)].batched(n));
    if (!timing_) {
      at(i).forward(acts_[static_cast<std::size_t>(i)], y);
      continue;
    }
    const auto t0 = timing_clock::now();
    at(i).forward(acts_[static_cast<std::size_t>(i)], y);
    timing_->forward[static_cast<std::size_t>(i)] += seconds_since(t0);
  }
  return acts_.back();
}

template <class T>
void network<T>::backward(tensor<T>& dy, int top, const grad_hook& hook) {
  auto call_hook = [&](int activation, tensor<T>& da) {
    if (!hook) return;
    const auto t0 = timing_clock::now();
    hook(activation, da);
    if (timing_) timing_->hooks += seconds_since(t0);
  };
  call_hook(top + 1, dy);
  const tensor<T>* grad = &dy;
  int k = 0;  // layers alternate between the two scratch buffers
  for (int i = top; i >= 0; --i) {
    const auto& x = acts_[static_cast<std::size_t>(i)];
    tensor<T>* dx = nullptr;
    if (i > 0) {
      dx = &scratch_[k];
      dx->resize(x.dims());
    }
    const auto t0 = timing_clock::now();
    at(i).backward(x, acts_[static_cast<std::size_t>(i + 1)], *grad, dx);
    if (timing_) timing_->backward[static_cast<std::size_t>(i)] += seconds_since(t0);
    if (dx) {
      call_hook(i, *dx);
      grad = dx;
      k ^= 1;
    }
  }
}

template <class T>
std::string network<T>::layer_name(int layer_index) const {
  return fmt::format("{:02}_{}", layer_index, at(layer_index).kind());
}

template <class T>
std::vector<typename network<T>::parameter> network<T>::parameter_list() const {
  std::vector<parameter> out;
  for (int i = 0; i < size(); ++i)
    for (param_tensor p : at(i).parameters()) {
      p.offset += param_offset(i);
      out.push_back({i, layer_name(i), std::move(p)});
    }
  return out;
}

template <class T>
const typename network<T>::site& network<T>::find_site(const std::string& name) const {
  for (const auto& s : sites_)
    if (s.name == name) return s;
  std::string known;
  for (const auto& s : sites_) known += (known.empty() ? "" : ", ") + s.name;
  throw std::invalid_argument(fmt::format("unknown site '{}': this model has {}", name, known));
}

template <class T>
bool network<T>::in_unit_interval(int activation) const {
  if (activation == 0) return false;  // nothing is promised about the input
  const auto& l = at(activation - 1);
  return l.output_in_unit_interval() || (l.keeps_unit_interval() && in_unit_interval(activation - 1));
}

template <class T>
std::string network<T>::summary() const {
  std::string out = fmt::format("  input {}\n", shapes_[0].str());
  for (int i = 0; i < size(); ++i) {
    std::string site;
    for (const auto& s : sites_)
      if (s.activation == i + 1) site = "  <- site " + s.name;
    out += fmt::format("  {:2} {:32} {:16} {:>9} params{}\n", i, at(i).describe(),
                       shapes_[static_cast<std::size_t>(i + 1)].str(), at(i).param_count(), site);
  }
  return out;
}

template <class T>
void network<T>::set_timing(timing* t) {
  timing_ = t;
  if (!t) return;
  t->forward.assign(static_cast<std::size_t>(size()), 0.0);
  t->backward.assign(static_cast<std::size_t>(size()), 0.0);
  t->hooks = 0;
}

template class network<float>;
template class network<double>;

}  // namespace saelab
