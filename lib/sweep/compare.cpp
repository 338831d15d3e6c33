#include "sweep/compare.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

namespace saelab {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

double to_double(const std::string& s) {
  double v = nan;
  if (s.empty()) return nan;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() ? v : nan;
}

mean_sd stats_of(const std::vector<double>& xs) {
  mean_sd r;
  std::vector<double> v;
  for (double x : xs)
    if (std::isfinite(x)) v.push_back(x);
  if (v.empty()) return r;
  double s = 0;
  for (double x : v) s += x;
  r.mean = s / static_cast<double>(v.size());
  if (v.size() > 1) {
    double q = 0;
    for (double x : v) q += (x - r.mean) * (x - r.mean);
    r.sd = std::sqrt(q / static_cast<double>(v.size() - 1));
  }
  return r;
}

// The frontier (BCE against L0) of one kind, sorted by test BCE ascending.
std::vector<const setting_stats*> l0_frontier(const std::vector<setting_stats>& settings, const std::string& kind) {
  std::vector<const setting_stats*> f;
  for (const auto& s : settings)
    if (s.kind == kind && s.on_l0_frontier) f.push_back(&s);
  std::sort(f.begin(), f.end(), [](auto* a, auto* b) { return a->test_bce.mean < b->test_bce.mean; });
  return f;
}

activity_values lerp(const activity_values& a, const activity_values& b, double t) {
  auto m = [t](double x, double y) { return x + t * (y - x); };
  return {m(a.l0, b.l0),
          m(a.dead_fraction, b.dead_fraction),
          m(a.dense_fraction, b.dense_fraction),
          m(a.population_sparsity, b.population_sparsity),
          m(a.lifetime_sparsity, b.lifetime_sparsity),
          m(a.mean_when_active, b.mean_when_active),
          m(a.rho_hat_median, b.rho_hat_median)};
}

}  // namespace

activity_values setting_stats::means() const {
  return {l0.mean,
          dead_fraction.mean,
          dense_fraction.mean,
          population_sparsity.mean,
          lifetime_sparsity.mean,
          mean_when_active.mean,
          rho_hat_median.mean};
}

std::vector<std::string> summary_sites(const csv_table& summary) {
  std::vector<std::string> out;
  for (const auto& h : summary.header)
    if (h.size() > 3 && h.compare(h.size() - 3, 3, ".l0") == 0) out.push_back(h.substr(0, h.size() - 3));
  return out;
}

std::vector<setting_stats> aggregate_settings(const csv_table& t, const std::string& site) {
  for (const char* c : {"id", "label", "seed", "kind", "weight", "rho", "status", "test_bce", "run_dir"})
    if (!t.has(c)) throw std::runtime_error(fmt::format("summary has no column '{}': not a sae-sweep summary", c));
  if (!t.has(site + ".l0")) {
    const auto sites = summary_sites(t);
    throw std::runtime_error(fmt::format("summary has no site '{}' (sites: {})", site, fmt::join(sites, ", ")));
  }
  // The swept keys sit between "seed" and "kind".
  const std::size_t first_key = t.column("seed") + 1, end_key = t.column("kind");
  auto col = [&](const std::vector<std::string>& r, const std::string& name) { return r[t.column(name)]; };

  struct group {
    setting_stats s;
    std::map<std::string, std::vector<double>> values;
  };
  std::vector<group> groups;
  std::map<std::string, std::size_t> by_key;
  for (const auto& r : t.rows) {
    if (col(r, "status") != "done" || !std::isfinite(to_double(col(r, "test_bce")))) continue;
    std::string key = col(r, "label"), setting;
    for (std::size_t c = first_key; c < end_key; ++c) {
      key += "\x1f" + r[c];
      if (r[c].empty() || t.header[c] == "sparsity.kind") continue;
      const std::string& k = t.header[c];
      setting += fmt::format("{}{}={}", setting.empty() ? "" : " ", k.substr(k.rfind('.') + 1), r[c]);
    }
    auto [it, fresh] = by_key.try_emplace(key, groups.size());
    if (fresh) {
      group g;
      g.s.kind = col(r, "kind");
      g.s.label = col(r, "label");
      g.s.setting = setting.empty() ? "(base)" : setting;
      g.s.weight = to_double(col(r, "weight"));
      g.s.rho = to_double(col(r, "rho"));
      g.s.units = static_cast<std::int64_t>(to_double(col(r, site + ".units")));
      groups.push_back(std::move(g));
    }
    group& g = groups[it->second];
    g.s.ids.push_back(col(r, "id"));
    g.s.run_dirs.push_back(col(r, "run_dir"));
    g.values["test_bce"].push_back(to_double(col(r, "test_bce")));
    g.values["test_mse"].push_back(to_double(col(r, "test_mse")));
    for (const char* m : {"l0", "dead_fraction", "dense_fraction", "population_sparsity", "lifetime_sparsity",
                          "mean_when_active", "rho_hat_median"})
      g.values[m].push_back(to_double(col(r, site + "." + m)));
  }
  std::vector<setting_stats> out;
  for (auto& g : groups) {
    auto& v = g.values;
    g.s.test_bce = stats_of(v["test_bce"]);
    g.s.test_mse = stats_of(v["test_mse"]);
    g.s.l0 = stats_of(v["l0"]);
    g.s.dead_fraction = stats_of(v["dead_fraction"]);
    g.s.dense_fraction = stats_of(v["dense_fraction"]);
    g.s.population_sparsity = stats_of(v["population_sparsity"]);
    g.s.lifetime_sparsity = stats_of(v["lifetime_sparsity"]);
    g.s.mean_when_active = stats_of(v["mean_when_active"]);
    g.s.rho_hat_median = stats_of(v["rho_hat_median"]);
    out.push_back(std::move(g.s));
  }
  return out;
}

std::vector<std::size_t> pareto_front(const std::vector<std::pair<double, double>>& xy) {
  std::vector<std::size_t> front;
  for (std::size_t i = 0; i < xy.size(); ++i) {
    const auto [xi, yi] = xy[i];
    if (!std::isfinite(xi) || !std::isfinite(yi)) continue;
    bool dominated = false;
    for (std::size_t j = 0; j < xy.size() && !dominated; ++j) {
      const auto [xj, yj] = xy[j];
      if (j == i || !std::isfinite(xj) || !std::isfinite(yj)) continue;
      dominated = xj <= xi && yj <= yi && (xj < xi || yj < yi);
    }
    if (!dominated) front.push_back(i);
  }
  std::stable_sort(front.begin(), front.end(), [&](std::size_t a, std::size_t b) {
    return xy[a].first < xy[b].first || (xy[a].first == xy[b].first && xy[a].second > xy[b].second);
  });
  return front;
}

void mark_frontiers(std::vector<setting_stats>& settings) {
  std::vector<std::string> kinds;
  for (const auto& s : settings)
    if (std::find(kinds.begin(), kinds.end(), s.kind) == kinds.end()) kinds.push_back(s.kind);
  for (const auto& kind : kinds) {
    std::vector<std::size_t> members;
    std::vector<std::pair<double, double>> by_l0, by_dead;
    for (std::size_t i = 0; i < settings.size(); ++i) {
      if (settings[i].kind != kind) continue;
      members.push_back(i);
      by_l0.emplace_back(settings[i].l0.mean, settings[i].test_bce.mean);
      by_dead.emplace_back(settings[i].dead_fraction.mean, settings[i].test_bce.mean);
    }
    for (std::size_t k : pareto_front(by_l0)) settings[members[k]].on_l0_frontier = true;
    for (std::size_t k : pareto_front(by_dead)) settings[members[k]].on_dead_frontier = true;
  }
}

std::vector<matched_level> match_levels(const std::vector<setting_stats>& settings,
                                        const std::vector<std::string>& kinds_in, int levels) {
  std::vector<std::string> kinds;
  std::vector<std::vector<const setting_stats*>> fronts;
  for (const auto& k : kinds_in) {
    auto f = l0_frontier(settings, k);
    if (f.empty()) continue;
    kinds.push_back(k);
    fronts.push_back(std::move(f));
  }
  std::vector<matched_level> out;
  if (kinds.size() < 2 || levels < 1) return out;

  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  for (const auto& f : fronts) {
    lo = std::max(lo, f.front()->test_bce.mean);
    hi = std::min(hi, f.back()->test_bce.mean);
  }
  if (lo <= hi) {
    const int n = lo == hi ? 1 : levels;
    for (int i = 0; i < n; ++i) {
      matched_level level;
      level.test_bce = n == 1 ? lo : lo + (hi - lo) * i / (n - 1);
      level.method = "interpolated";
      for (std::size_t k = 0; k < kinds.size(); ++k) {
        const auto& f = fronts[k];
        // The frontier segment holding the level, and the position on it.
        std::size_t a = 0;
        while (a + 1 < f.size() && f[a + 1]->test_bce.mean < level.test_bce) ++a;
        const std::size_t b = std::min(a + 1, f.size() - 1);
        const double ya = f[a]->test_bce.mean, yb = f[b]->test_bce.mean;
        const double t = yb > ya ? std::clamp((level.test_bce - ya) / (yb - ya), 0.0, 1.0) : 0.0;
        // Within rounding of a frontier setting: that setting alone.
        const std::string from = a == b || t < 1e-9 ? f[a]->setting
                                 : t > 1 - 1e-9     ? f[b]->setting
                                                  : fmt::format("{} .. {}", f[a]->setting, f[b]->setting);
        level.by_kind.push_back({kinds[k], lerp(f[a]->means(), f[b]->means(), t), from});
      }
      out.push_back(std::move(level));
    }
    return out;
  }
  // No shared range: the closest frontier settings of the first two kinds.
  if (const auto p = nearest_pair(settings, kinds[0], kinds[1])) {
    const auto& a = settings[p->first];
    const auto& b = settings[p->second];
    matched_level level;
    level.test_bce = (a.test_bce.mean + b.test_bce.mean) / 2;
    level.method = "nearest";
    level.by_kind.push_back({a.kind, a.means(), fmt::format("{} (test BCE {:.5f})", a.setting, a.test_bce.mean)});
    level.by_kind.push_back({b.kind, b.means(), fmt::format("{} (test BCE {:.5f})", b.setting, b.test_bce.mean)});
    out.push_back(std::move(level));
  }
  return out;
}

std::optional<std::pair<std::size_t, std::size_t>> nearest_pair(const std::vector<setting_stats>& settings,
                                                                 const std::string& a, const std::string& b) {
  double best_bce = std::numeric_limits<double>::infinity();
  for (const auto& s : settings)
    if (s.kind == a || s.kind == b) best_bce = std::min(best_bce, s.test_bce.mean);
  std::optional<std::pair<std::size_t, std::size_t>> best;
  double best_score = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < settings.size(); ++i) {
    if (settings[i].kind != a || !settings[i].on_l0_frontier) continue;
    for (std::size_t j = 0; j < settings.size(); ++j) {
      if (settings[j].kind != b || !settings[j].on_l0_frontier) continue;
      const double x = settings[i].test_bce.mean, y = settings[j].test_bce.mean;
      const double cost = (x + y) / 2 - best_bce;  // the BCE the sparsity costs, on average
      const double score = cost > 0 ? std::abs(x - y) / cost : std::numeric_limits<double>::infinity();
      if (score < best_score || (!best && std::isinf(score))) best_score = score, best = std::make_pair(i, j);
    }
  }
  return best;
}

}  // namespace saelab
