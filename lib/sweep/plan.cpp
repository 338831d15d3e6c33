#include "sweep/plan.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>

#include "data/idx.hpp"
#include "experiment/model.hpp"
#include "experiment/objective.hpp"
#include "sweep/csv.hpp"

namespace saelab {

namespace fs = std::filesystem;

namespace {

std::string section_name(const sweep_section& s) { return s.label.empty() ? "grid" : "grid." + s.label; }

// config_error messages for overrides start "command line: "; here the sweep
// file is the source, named by the caller.
std::string config_message(const config_error& e) {
  std::string m = e.what();
  const std::string prefix = "command line: ";
  if (m.rfind(prefix, 0) == 0) m.erase(0, prefix.size());
  return m;
}

std::string token(const std::string& key, const std::string& value) { return fmt::format("--{}={}", key, value); }

std::string sanitize(std::string_view s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '-' ? c : '_';
  return out;
}

// One point of a section: the index of the value taken on each axis.
std::vector<std::vector<std::size_t>> section_points(const sweep_section& s, sweep_mode mode) {
  std::vector<std::vector<std::size_t>> points;
  if (mode == sweep_mode::zip) {
    std::size_t n = 1;
    for (const auto& a : s.axes) n = std::max(n, a.values.size());
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<std::size_t> p;
      for (const auto& a : s.axes) p.push_back(a.values.size() == 1 ? 0 : i);
      points.push_back(std::move(p));
    }
    return points;
  }
  std::vector<std::size_t> p(s.axes.size(), 0);
  while (true) {
    points.push_back(p);
    // Odometer: the last axis varies fastest.
    std::size_t k = s.axes.size();
    while (k > 0) {
      --k;
      if (++p[k] < s.axes[k].values.size()) break;
      p[k] = 0;
      if (k == 0) return points;
    }
    if (s.axes.empty()) return points;
  }
}

// Seeds x the points of every section, from the list lengths, each step checked
// for overflow; also as a double, to name a count that overflows in messages.
struct run_count {
  std::uint64_t exact = 0;
  bool overflow = false;
  double approx = 0;
};

run_count count_runs(const sweep_spec& spec) {
  run_count c;
  for (const sweep_section& s : spec.sections) {
    std::uint64_t points = 1;
    double approx = 1;
    for (const sweep_axis& a : s.axes) {
      const std::uint64_t n = a.values.size();
      if (spec.mode == sweep_mode::zip) {
        points = std::max(points, n);
        approx = std::max(approx, static_cast<double>(n));
      } else {
        c.overflow |= __builtin_mul_overflow(points, n, &points);
        approx *= static_cast<double>(n);
      }
    }
    c.overflow |= __builtin_add_overflow(c.exact, points, &c.exact);
    c.approx += approx;
  }
  c.overflow |= __builtin_mul_overflow(c.exact, static_cast<std::uint64_t>(spec.seeds), &c.exact);
  c.approx *= spec.seeds;
  return c;
}

// A config with the per-run keys neutralised, for comparing points.
std::string config_identity(experiment_config c) {
  c.run.out.clear();
  c.run.name.clear();
  c.run.threads = 1;
  return to_ini(c);
}

// ---- make_plan's steps ----

// Throws when the lists make more runs than a sweep may have; nothing is expanded yet.
void check_size(const sweep_spec& spec) {
  if (const run_count n = count_runs(spec); n.overflow || n.exact > max_sweep_runs)
    throw sweep_error(fmt::format("{}: {} runs ([sweep] seeds x the points of every [grid] section): more than the "
                                  "{} a sweep may have; split it into smaller sweeps",
                                  spec.file.string(),
                                  n.overflow ? fmt::format("{:.3g}", n.approx) : std::to_string(n.exact),
                                  max_sweep_runs));
}

// One point of a section: the index of the value taken on each axis.
struct point {
  const sweep_section* section;
  std::vector<std::size_t> at;
};

// The checks of make_plan, each problem with its line in the sweep file.
struct plan_checker {
  const sweep_spec& spec;
  std::vector<std::string> problems;
  std::vector<std::string> fixed_tokens;  // [fixed] as overrides
  bool fixed_ok = true;                   // the base + [fixed] loads

  void problem(int line, const std::string& msg) {
    problems.push_back(fmt::format("{}:{}: {}", spec.file.string(), line, msg));
  }
  void throw_if_any() const {
    if (!problems.empty()) throw sweep_error(fmt::format("{}", fmt::join(problems, "\n")));
  }
  // A config key, and not one sae-sweep sets itself.
  bool check_key(const sweep_axis& a, const std::string& section);
  void check_fixed();
  // Every axis and value on its own; collects the swept keys in order of first appearance.
  void check_axes(std::vector<std::string>& keys);
  // Each point once (seed 0): loads, builds, and is not a duplicate.
  void check_points(const std::vector<point>& points);
};

bool plan_checker::check_key(const sweep_axis& a, const std::string& section) {
  const std::vector<std::string> known = config_keys();
  if (std::find(known.begin(), known.end(), a.key) == known.end()) {
    // load_config words the message, with its "did you mean".
    std::string msg = fmt::format("unknown config key '{}'", a.key);
    try {
      load_config("", {token(a.key, "0")});
    } catch (const config_error& e) {
      msg = config_message(e);
    }
    problem(a.line, fmt::format("[{}] {}", section, msg));
    return false;
  }
  const auto& reserved = sweep_reserved_keys();
  if (std::find(reserved.begin(), reserved.end(), a.key) != reserved.end()) {
    const std::string why = a.key == "run.seed"    ? "it is set from [sweep] seeds (base run.seed + 0, 1, ...)"
                            : a.key == "run.threads" ? "it is set from sae-sweep -j (cores / jobs per run)"
                                                     : "sae-sweep sets it per run (the run's id and directory)";
    problem(a.line, fmt::format("[{}] {} cannot be set in a sweep: {}", section, a.key, why));
    return false;
  }
  return true;
}

void plan_checker::check_fixed() {
  for (const sweep_axis& a : spec.fixed) {
    if (!check_key(a, "fixed") || a.values.size() != 1) {
      fixed_ok = false;
      continue;
    }
    fixed_tokens.push_back(token(a.key, a.values[0]));
    try {
      load_config(spec.base.string(), {fixed_tokens.back()});
    } catch (const config_error& e) {
      problem(a.line, fmt::format("[fixed] {}", config_message(e)));
      fixed_ok = false;
    }
  }
}

void plan_checker::check_axes(std::vector<std::string>& keys) {
  std::set<std::string> fixed_keys;
  for (const auto& f : spec.fixed) fixed_keys.insert(f.key);
  for (const sweep_section& s : spec.sections) {
    const std::string name = section_name(s);
    const sweep_axis* longest = nullptr;
    for (const sweep_axis& a : s.axes) {
      if (!check_key(a, name)) continue;
      if (fixed_keys.count(a.key))
        problem(a.line, fmt::format("[{}] {} is also in [fixed]: set it in one place", name, a.key));
      if (std::find(keys.begin(), keys.end(), a.key) == keys.end()) keys.push_back(a.key);
      std::set<std::string> seen;
      for (const std::string& v : a.values) {
        if (!seen.insert(v).second) problem(a.line, fmt::format("[{}] {} lists '{}' twice", name, a.key, v));
        if (!fixed_ok) continue;  // the base + [fixed] does not load: reported already
        std::vector<std::string> t = fixed_tokens;
        t.push_back(token(a.key, v));
        try {
          load_config(spec.base.string(), t);
        } catch (const config_error& e) {
          problem(a.line, fmt::format("[{}] {}", name, config_message(e)));
        }
      }
      if (spec.mode == sweep_mode::zip && a.values.size() > 1) {
        if (longest == nullptr) longest = &a;
        else if (a.values.size() != longest->values.size())
          problem(a.line, fmt::format("[{}] zip mode: {} has {} values but {} (line {}) has {}; lists must have "
                                      "equal lengths (a list of one value applies to every point)",
                                      name, a.key, a.values.size(), longest->key, longest->line,
                                      longest->values.size()));
      }
    }
  }
}

void plan_checker::check_points(const std::vector<point>& points) {
  std::map<std::string, std::string> seen_configs;  // identity -> description
  std::set<std::string> model_checked;
  for (const point& p : points) {
    std::vector<std::string> t = fixed_tokens, desc;
    for (std::size_t k = 0; k < p.section->axes.size(); ++k) {
      const sweep_axis& a = p.section->axes[k];
      t.push_back(token(a.key, a.values[p.at[k]]));
      if (a.values.size() > 1) desc.push_back(fmt::format("{}={}", a.key, a.values[p.at[k]]));
    }
    const std::string where = fmt::format("[{}] point {}", section_name(*p.section),
                                          desc.empty() ? "(single)" : fmt::format("{}", fmt::join(desc, ", ")));
    experiment_config c;
    try {
      c = load_config(spec.base.string(), t);
    } catch (const config_error& e) {
      problem(p.section->line, fmt::format("{}: {}", where, config_message(e)));
      continue;
    }
    const std::string id = config_identity(c);
    if (const auto [it, fresh] = seen_configs.emplace(id, where); !fresh) {
      problem(p.section->line, fmt::format("{} is the same config as {}", where, it->second));
      continue;
    }
    // Model and objective: once per distinct (model, loss, sparsity, data).
    experiment_config shape_only;
    shape_only.model = c.model;
    shape_only.sparsity = c.sparsity;
    shape_only.train.loss = c.train.loss;
    shape_only.data = c.data;
    if (!model_checked.insert(to_ini(shape_only)).second) continue;
    shape input;
    try {
      input = mnist_sample_shape(c.data.dir);
    } catch (const data_error&) {
      continue;  // without its data the run fails by itself, saying why
    }
    try {
      auto net = build_model<float>(c.model, input);
      objective<float> obj(*net, c.train.loss, c.sparsity);
    } catch (const std::exception& e) {
      problem(p.section->line, fmt::format("{}: {}", where, e.what()));
    }
  }
}

std::vector<point> expand_points(const sweep_spec& spec) {
  std::vector<point> points;
  for (const sweep_section& s : spec.sections)
    for (auto& at : section_points(s, spec.mode)) points.push_back({&s, std::move(at)});
  return points;
}

// How a swept key is named in run ids: its last dotted part, unless two swept
// keys share it; then the whole key, '_' for its first dot.
struct id_namer {
  std::map<std::string, int> leaf_count;

  static std::string leaf(const std::string& k) { return k.substr(k.rfind('.') + 1); }
  explicit id_namer(const std::vector<std::string>& keys) {
    for (const auto& k : keys) ++leaf_count[leaf(k)];
  }
  std::string operator()(const std::string& k) const {
    if (leaf_count.at(leaf(k)) == 1) return leaf(k);
    std::string name = sanitize(k);  // same length as k
    if (const auto dot = k.find('.'); dot != std::string::npos) name[dot] = '_';
    return name;
  }
};

// Seeds outermost, then the points in order.
void add_rows(sweep_plan& plan, const std::vector<point>& points, const std::vector<std::string>& fixed_tokens,
              std::uint64_t base_seed) {
  const sweep_spec& spec = plan.spec;
  const std::size_t total = points.size() * static_cast<std::size_t>(spec.seeds);  // <= max_sweep_runs
  const int width = std::max<int>(3, static_cast<int>(fmt::format("{}", total - 1).size()));
  const id_namer short_name(plan.keys);
  for (int seed_k = 0; seed_k < spec.seeds; ++seed_k) {
    for (const point& p : points) {
      plan_row r;
      r.index = static_cast<int>(plan.rows.size());
      r.label = p.section->label;
      r.seed = base_seed + static_cast<std::uint64_t>(seed_k);
      r.values.assign(plan.keys.size(), "");
      r.overrides = fixed_tokens;
      std::string id = fmt::format("{:0{}}", r.index, width);
      if (!r.label.empty()) id += "-" + r.label;
      for (std::size_t k = 0; k < p.section->axes.size(); ++k) {
        const sweep_axis& a = p.section->axes[k];
        const std::string& v = a.values[p.at[k]];
        const auto col = std::find(plan.keys.begin(), plan.keys.end(), a.key) - plan.keys.begin();
        r.values[static_cast<std::size_t>(col)] = v;
        r.overrides.push_back(token(a.key, v));
        if (a.values.size() > 1) id += fmt::format("-{}{}", short_name(a.key), sanitize(v));
      }
      r.id = fmt::format("{}-s{}", id, r.seed);
      r.run_dir = "runs/" + r.id;
      plan.rows.push_back(std::move(r));
    }
  }
}

}  // namespace

const std::vector<std::string>& sweep_reserved_keys() {
  static const std::vector<std::string> keys{"run.seed", "run.out", "run.name", "run.threads"};
  return keys;
}

fs::path default_sweep_dir(const sweep_spec& spec) { return spec.file.parent_path() / spec.name; }

sweep_plan make_plan(const sweep_spec& spec) {
  check_size(spec);
  experiment_config base;
  try {
    base = load_config(spec.base.string(), {});
  } catch (const config_error& e) {
    throw sweep_error(fmt::format("{}: base config: {}", spec.file.string(), e.what()));
  }
  sweep_plan plan;
  plan.spec = spec;
  plan_checker check{spec, {}, {}, true};
  check.check_fixed();
  check.check_axes(plan.keys);
  check.throw_if_any();
  const std::vector<point> points = expand_points(spec);
  check.check_points(points);
  check.throw_if_any();
  add_rows(plan, points, check.fixed_tokens, base.run.seed);
  return plan;
}

experiment_config planned_config(const sweep_plan& plan, const plan_row& row, const fs::path& sweep_dir) {
  std::vector<std::string> t = row.overrides;
  t.push_back(token("run.seed", std::to_string(row.seed)));
  t.push_back(token("run.name", row.id));
  t.push_back(token("run.out", (sweep_dir / row.run_dir).string()));
  return load_config(plan.spec.base.string(), t);
}

std::string plan_csv(const sweep_plan& plan) {
  csv_table t;
  t.header = {"index", "id", "label", "seed"};
  t.header.insert(t.header.end(), plan.keys.begin(), plan.keys.end());
  t.header.push_back("run_dir");
  for (const plan_row& r : plan.rows) {
    std::vector<std::string> cells{std::to_string(r.index), r.id, r.label, std::to_string(r.seed)};
    cells.insert(cells.end(), r.values.begin(), r.values.end());
    cells.push_back(r.run_dir);
    t.rows.push_back(std::move(cells));
  }
  return to_csv(t);
}

}  // namespace saelab
