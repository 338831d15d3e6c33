#include "experiment/objective.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "loss/reconstruction.hpp"
#include "tensor/vector_math.hpp"

namespace saelab {

namespace {
template <class T>
std::unique_ptr<penalty<T>> make_penalty(const sparsity_config& s) {
  switch (s.kind) {
    case sparsity_kind::kl:
      return std::make_unique<kl_penalty<T>>(s.rho, s.beta);
    case sparsity_kind::seed_kl:
      return std::make_unique<seed_kl_penalty<T>>(s.rho, s.beta);
    case sparsity_kind::l1:
      return std::make_unique<l1_penalty<T>>(s.lambda, s.reduction == penalty_reduction::sum
                                                           ? l1_reduction::sum
                                                           : l1_reduction::mean);
    case sparsity_kind::none:
      break;
  }
  return nullptr;
}

template <class T>
void sigmoid_into(const tensor<T>& z, tensor<T>& p) {
  p.resize(z.dims());
  logistic_into(z.data(), p.data(), z.numel());
}
}  // namespace

template <class T>
objective<T>::objective(network<T>& net, loss_kind loss, const sparsity_config& sparsity)
    : net_(net), loss_(loss) {
  if (sparsity.kind == sparsity_kind::none) return;
  std::vector<std::string> names;
  if (sparsity.sites.size() == 1 && sparsity.sites[0] == "all") {
    for (const auto& s : net.sites()) names.push_back(s.name);
  } else {
    names = sparsity.sites;
  }
  if (names.empty()) throw std::invalid_argument("sparsity.sites is empty: name at least one site, or all");
  for (const auto& name : names) {
    const auto& site = net.find_site(name);
    for (const auto& s : sites_)
      if (s.name == name) throw std::invalid_argument(fmt::format("sparsity.sites names '{}' twice", name));
    auto term = make_penalty<T>(sparsity);
    if (term->needs_unit_interval() && !net.in_unit_interval(site.activation))
      throw std::invalid_argument(fmt::format(
          "sparsity.kind = {} on site '{}': its activations come from {} and are not bounded in [0, 1], "
          "but the Bernoulli KL needs mean activations in (0, 1). Use model.hidden_activation = sigmoid, "
          "or an L1 penalty (sparsity.kind = l1)",
          to_string(sparsity.kind), name, net.at(site.activation - 1).describe()));
    sites_.push_back({name, site.activation, std::move(term)});
  }
}

template <class T>
double objective<T>::terms::penalty() const {
  double s = 0;
  for (double v : site_penalty) s += v;
  return s;
}

template <class T>
typename objective<T>::terms objective<T>::evaluate(const tensor<T>& target, bool need_grad) {
  const int top = net_.size();
  const auto& z = net_.activation(top);
  const tensor<T> t = target.reshaped(z.dims());
  terms out;
  if (need_grad) dlogits_.resize(z.dims());
  if (loss_ == loss_kind::bce) {
    out.reconstruction = bce_with_logits(z, t, need_grad ? &dlogits_ : nullptr);
  } else {
    sigmoid_into(z, probs_);
    out.reconstruction = mse(probs_, t, need_grad ? &dlogits_ : nullptr);
    if (need_grad)  // through the output sigmoid
      for (std::int64_t i = 0; i < z.numel(); ++i) dlogits_[i] *= probs_[i] * (T(1) - probs_[i]);
  }
  // The penalties' gradients are added on the way down (backward), straight
  // from the tape: no gradient tensor per site.
  for (auto& s : sites_) out.site_penalty.push_back(s.term->evaluate(net_.activation(s.activation), nullptr));
  return out;
}

template <class T>
void objective<T>::backward() {
  net_.backward(dlogits_, [this](int activation, tensor<T>& da) {
    // Plain loops (penalty.cpp): a BLAS call here would wake OpenBLAS's
    // thread pool, whose spinning then steals a core from the conv layers'
    // own threads.
    for (const auto& s : sites_)
      if (s.activation == activation) s.term->add_gradient(net_.activation(activation), da);
  });
}

template <class T>
std::vector<penalty_info> objective<T>::penalties() const {
  std::vector<penalty_info> out;
  for (const auto& s : sites_) out.push_back({s.name, s.term->describe()});
  return out;
}

template <class T>
std::string objective<T>::describe() const {
  std::string out = fmt::format("{} on sigmoid outputs", to_string(loss_));
  // Sites with the same penalty are listed once: "+ l1(...) at conv1, conv2".
  for (std::size_t i = 0; i < sites_.size();) {
    const std::string term = sites_[i].term->describe();
    out += fmt::format(" + {} at {}", term, sites_[i].name);
    for (++i; i < sites_.size() && sites_[i].term->describe() == term; ++i) out += ", " + sites_[i].name;
  }
  return out;
}

template <class T>
reconstruction_error reconstruction_errors(const tensor<T>& logits, const tensor<T>& target, tensor<T>& scratch) {
  const tensor<T> t = target.reshaped(logits.dims());
  reconstruction_error e;
  e.bce = bce_with_logits(logits, t, nullptr);
  sigmoid_into(logits, scratch);
  e.mse = mse(scratch, t, nullptr);
  return e;
}

template class objective<float>;
template class objective<double>;
template reconstruction_error reconstruction_errors<float>(const tensor<float>&, const tensor<float>&, tensor<float>&);
template reconstruction_error reconstruction_errors<double>(const tensor<double>&, const tensor<double>&,
                                                            tensor<double>&);

}  // namespace saelab
