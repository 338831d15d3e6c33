#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <span>
#include <type_traits>
#include <utility>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "config/ini.hpp"
#include "io/input_file.hpp"
#include "report/quote.hpp"
#include "config/layer_list.hpp"
#include "config/printable.hpp"

namespace saelab {

namespace po = boost::program_options;

namespace {

// ---- enum spellings: one table per enum serves parsing and printing ----

template <class E>
using names_of = std::span<const std::pair<std::string_view, E>>;

constexpr std::pair<std::string_view, model_arch> model_arch_names[] = {
    {"fc", model_arch::fc},
    {"seed_conv", model_arch::seed_conv},
    {"layers", model_arch::layers}};
constexpr std::pair<std::string_view, activation_kind> activation_names[] = {
    {"sigmoid", activation_kind::sigmoid}, {"relu", activation_kind::relu}};
constexpr std::pair<std::string_view, sparsity_kind> sparsity_names[] = {
    {"none", sparsity_kind::none},
    {"kl", sparsity_kind::kl},
    {"l1", sparsity_kind::l1},
    {"seed_kl", sparsity_kind::seed_kl}};
constexpr std::pair<std::string_view, penalty_reduction> reduction_names[] = {
    {"sum", penalty_reduction::sum}, {"mean", penalty_reduction::mean}};
constexpr std::pair<std::string_view, loss_kind> loss_names[] = {
    {"bce", loss_kind::bce}, {"mse", loss_kind::mse}};
constexpr std::pair<std::string_view, optim_kind> optim_names[] = {
    {"adam", optim_kind::adam}, {"sgd", optim_kind::sgd}};

template <class E>
std::string_view name_of(names_of<E> names, E v) {
  for (const auto& [name, value] : names)
    if (value == v) return name;
  return "?";  // only reachable through a cast of a bad integer
}

// ---- codecs: text <-> one field type, with the range check ----
//
// parse() throws bad_value carrying everything after "key = " in the final
// message; load_config adds the source and the key.

struct bad_value {
  std::string tail;  // e.g. "'ten' is not an integer: expected an integer >= 1"
};

template <class T>
struct integer_codec {
  T lo, hi;

  std::string expected() const {
    if (hi == std::numeric_limits<T>::max()) return fmt::format("an integer >= {}", lo);
    return fmt::format("an integer in [{}, {}]", lo, hi);
  }
  T parse(std::string_view s) const {
    T v{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    // from_chars rejects "-1" for unsigned types; that is a range problem, not a syntax one.
    const bool negative_unsigned = std::is_unsigned_v<T> && s.size() > 1 && s[0] == '-' &&
                                   std::all_of(s.begin() + 1, s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (ec == std::errc::result_out_of_range || negative_unsigned)
      throw bad_value{fmt::format("{} is out of range: expected {}", printable(s), expected())};
    if (ec != std::errc() || end != s.data() + s.size())
      throw bad_value{fmt::format("'{}' is not an integer: expected {}", printable(s), expected())};
    if (v < lo || v > hi) throw bad_value{fmt::format("{} is out of range: expected {}", printable(s), expected())};
    return v;
  }
  std::string format(T v) const { return fmt::format("{}", v); }
};

integer_codec<int> int_at_least(int lo) { return {lo, std::numeric_limits<int>::max()}; }
integer_codec<int> int_in(int lo, int hi) { return {lo, hi}; }

// A finite double in an interval; an infinite hi means no upper bound.
// Every real key is used as a float by the model and optimiser, so the value
// must also be a normal float that keeps to the interval: 1e-50 (0 as a
// float), 0.9999999999 (1 as a float), 1e39 (inf) and denormals (1e-40,
// which make every multiply slow and lose precision) are refused. 0 itself
// passes where the interval allows it.
struct real_codec {
  double lo, hi;
  bool lo_open, hi_open;

  std::string expected() const {
    if (std::isinf(hi)) return fmt::format("a number {} {}", lo_open ? ">" : ">=", lo);
    return fmt::format("a number in {}{}, {}{}", lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
  }
  double parse(std::string_view s) const {
    double v = 0;
    // from_chars is locale-independent and, unlike stod, tells a partial parse apart.
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range)
      throw bad_value{fmt::format("{} is out of range: expected {}", printable(s), expected())};
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
      throw bad_value{fmt::format("'{}' is not a number: expected {}", printable(s), expected())};
    if (!inside(v)) throw bad_value{fmt::format("{} is out of range: expected {}", printable(s), expected())};
    const auto f = static_cast<float>(v);
    const char* why = !std::isfinite(f)                            ? "overflows to inf"
                      : v != 0 && std::fpclassify(f) == FP_ZERO      ? "rounds to 0"
                      : std::fpclassify(f) == FP_SUBNORMAL           ? "is a denormal"
                      : !inside(static_cast<double>(f))              ? "rounds to a value outside the range"
                                                                     : nullptr;
    if (why != nullptr)
      throw bad_value{fmt::format("{} {} in single precision ({}), which training computes in: expected {} "
                                  "as a normal float",
                                  printable(s), why, static_cast<double>(f), expected())};
    return v;
  }
  bool inside(double v) const {
    const bool below = lo_open ? v <= lo : v < lo;
    const bool above = hi_open ? v >= hi : v > hi;
    return !below && !above;
  }
  // fmt's shortest representation reads back to the same double.
  std::string format(double v) const { return fmt::format("{}", v); }
};

constexpr double inf = std::numeric_limits<double>::infinity();
real_codec real_above(double lo) { return {lo, inf, true, false}; }
real_codec real_at_least(double lo) { return {lo, inf, false, false}; }
real_codec real_open_unit() { return {0, 1, true, true}; }     // (0, 1)
real_codec real_below_one() { return {0, 1, false, true}; }    // [0, 1)

struct bool_codec {
  std::string expected() const { return "true, false, 1 or 0"; }
  bool parse(std::string_view s) const {
    if (s == "true" || s == "1") return true;
    if (s == "false" || s == "0") return false;
    throw bad_value{fmt::format("'{}' is not a bool: expected {}", printable(s), expected())};
  }
  std::string format(bool v) const { return v ? "true" : "false"; }
};

// Text that cannot round-trip through to_ini (see ini_value_problem) is
// refused early, before anything is written.
void check_ini_text(std::string_view s, std::string_view expected) {
  if (const std::string_view problem = ini_value_problem(s); !problem.empty())
    throw bad_value{fmt::format("'{}' cannot be written to an INI file: it holds {}; expected {} without '#', "
                                "line breaks or surrounding blanks", printable(s), problem, expected)};
}

struct text_codec {
  std::string expected() const { return "text"; }
  std::string parse(std::string_view s) const {
    check_ini_text(s, expected());
    return std::string(s);
  }
  std::string format(const std::string& v) const { return v; }
};

// run.name becomes one directory name under experiments/runs, so it must not
// be able to climb out ("..", "/") or hide (".x"): letters, digits, '.', '_'
// and '-', not starting with '.', at most run_name_max characters; empty means
// "run".
constexpr std::size_t run_name_max = 100;

bool run_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

struct run_name_codec {
  std::string expected() const {
    return fmt::format("letters, digits, '.', '_' and '-', not starting with '.', at most {} characters",
                       run_name_max);
  }
  std::string parse(std::string_view s) const {
    if (s.size() > run_name_max || (!s.empty() && s[0] == '.') || !std::all_of(s.begin(), s.end(), run_name_char))
      throw bad_value{fmt::format("'{}' cannot name a run directory: expected {}", printable(s), expected())};
    return std::string(s);
  }
  std::string format(const std::string& v) const { return v; }
};

// The default run.name, from a config file's stem: what run_name_codec
// refuses becomes '_'.
std::string run_name_of_stem(std::string stem) {
  for (char& c : stem)
    if (!run_name_char(c)) c = '_';
  if (!stem.empty() && stem[0] == '.') stem[0] = '_';
  if (stem.size() > run_name_max) stem.resize(run_name_max);
  return stem;
}

template <class E>
struct choice_codec {
  names_of<E> names;

  std::string expected() const {
    std::string list;
    for (const auto& [name, value] : names) list += fmt::format("{}{}", list.empty() ? "" : ", ", name);
    return "one of " + list;
  }
  E parse(std::string_view s) const {
    for (const auto& [name, value] : names)
      if (name == s) return value;
    throw bad_value{fmt::format("'{}': expected {}", printable(s), expected())};
  }
  std::string format(E v) const { return std::string(name_of(names, v)); }
};

template <class E, std::size_t N>
choice_codec<E> choice(const std::pair<std::string_view, E> (&names)[N]) {
  return {names_of<E>(names)};
}

// model.layers: kept as written (so to_ini gives it back), checked by parsing.
struct layer_list_codec {
  std::string expected() const { return "a layer list such as 'linear(1024) sigmoid@hidden, linear(784)'"; }
  std::string parse(std::string_view s) const {
    check_ini_text(s, expected());
    if (s.empty()) return {};
    try {
      (void)parse_layer_list(s);
    } catch (const std::invalid_argument& e) {
      throw bad_value{fmt::format("'{}': {}", printable(s), e.what())};
    }
    return std::string(s);
  }
  std::string format(const std::string& v) const { return v; }
};

// "hidden, bottleneck" -> {"hidden", "bottleneck"}; "all" stays {"all"}.
struct name_list_codec {
  std::string expected() const { return "a comma-separated list of site names, or all"; }
  std::vector<std::string> parse(std::string_view s) const {
    check_ini_text(s, expected());
    std::vector<std::string> names;
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = std::min(s.find(',', start), s.size());
      std::string_view item = s.substr(start, comma - start);
      const auto first = item.find_first_not_of(" \t");
      if (first == std::string_view::npos)
        throw bad_value{fmt::format("'{}' has an empty name: expected {}", printable(s), expected())};
      item = item.substr(first, item.find_last_not_of(" \t") - first + 1);
      names.emplace_back(item);
      if (comma == s.size()) break;
      start = comma + 1;
    }
    if (names.size() > 1 && std::find(names.begin(), names.end(), "all") != names.end())
      throw bad_value{fmt::format("'{}' mixes all with other names: expected {}", printable(s), expected())};
    return names;
  }
  std::string format(const std::vector<std::string>& v) const { return fmt::format("{}", fmt::join(v, ", ")); }
};

// ---- the one table of keys ----

// One key: its dotted name, what it accepts, and how to copy a value into the
// struct and back out, both bound to one field by pointers to members.
struct key_row {
  std::string key;
  std::string expected;
  std::function<void(experiment_config&, std::string_view)> set;  // throws bad_value
  std::function<std::string(const experiment_config&)> get;
};

template <class S, class T, class Codec>
key_row row(std::string key, S experiment_config::*section, T S::*field, Codec codec) {
  return {std::move(key), codec.expected(),
          [=](experiment_config& c, std::string_view text) { c.*section.*field = codec.parse(text); },
          [=](const experiment_config& c) { return codec.format(c.*section.*field); }};
}

// Adding a key: a field with its default in config.hpp, plus one line here.
const std::vector<key_row>& key_table() {
  using E = experiment_config;
  using M = model_config;
  using S = sparsity_config;
  using T = train_config;
  using O = optim_config;
  using R = run_config;
  using L = log_config;
  static const std::vector<key_row> rows = {
      row("model.arch", &E::model, &M::arch, choice(model_arch_names)),
      row("model.hidden", &E::model, &M::hidden, int_in(1, max_hidden_units)),
      row("model.hidden_activation", &E::model, &M::hidden_activation, choice(activation_names)),
      row("model.layers", &E::model, &M::layers, layer_list_codec{}),
      row("model.init_from", &E::model, &M::init_from, text_codec{}),
      row("sparsity.kind", &E::sparsity, &S::kind, choice(sparsity_names)),
      row("sparsity.rho", &E::sparsity, &S::rho, real_open_unit()),
      row("sparsity.beta", &E::sparsity, &S::beta, real_at_least(0)),
      row("sparsity.lambda", &E::sparsity, &S::lambda, real_at_least(0)),
      row("sparsity.reduction", &E::sparsity, &S::reduction, choice(reduction_names)),
      row("sparsity.sites", &E::sparsity, &S::sites, name_list_codec{}),
      row("train.epochs", &E::train, &T::epochs, int_at_least(1)),
      row("train.batch_size", &E::train, &T::batch_size, int_at_least(1)),
      row("train.loss", &E::train, &T::loss, choice(loss_names)),
      row("train.shuffle", &E::train, &T::shuffle, bool_codec{}),
      row("train.train_limit", &E::train, &T::train_limit, int_at_least(0)),
      row("train.test_limit", &E::train, &T::test_limit, int_at_least(0)),
      row("optim.kind", &E::optim, &O::kind, choice(optim_names)),
      row("optim.lr", &E::optim, &O::lr, real_above(0)),
      row("optim.beta1", &E::optim, &O::beta1, real_below_one()),
      row("optim.beta2", &E::optim, &O::beta2, real_below_one()),
      row("optim.eps", &E::optim, &O::eps, real_above(0)),
      row("optim.momentum", &E::optim, &O::momentum, real_below_one()),
      row("data.dir", &E::data, &data_config::dir, text_codec{}),
      row("run.seed", &E::run, &R::seed, integer_codec<std::uint64_t>{0, std::numeric_limits<std::uint64_t>::max()}),
      row("run.threads", &E::run, &R::threads, int_in(1, 256)),
      row("run.out", &E::run, &R::out, text_codec{}),
      row("run.name", &E::run, &R::name, run_name_codec{}),
      row("log.active_threshold", &E::log, &L::active_threshold, real_at_least(0)),
      row("log.every_steps", &E::log, &L::every_steps, int_at_least(1)),
  };
  return rows;
}

// Every value is read as a string and converted by its codec, which gives
// strict parsing and our own error messages.
po::options_description make_description() {
  po::options_description desc("saelab experiment config");
  for (const key_row& r : key_table()) desc.add_options()(r.key.c_str(), po::value<std::string>(), r.expected.c_str());
  return desc;
}

void apply(const key_row& r, experiment_config& c, std::string_view value, std::string_view source) {
  try {
    r.set(c, value);
  } catch (const bad_value& e) {
    throw config_error(fmt::format("{}: {} = {}", printable(source), r.key, e.tail));
  }
}

// ---- error messages ----

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> d(b.size() + 1);
  std::iota(d.begin(), d.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = d[0];
    d[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = d[j];
      d[j] = std::min({d[j] + 1, d[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = up;
    }
  }
  return d[b.size()];
}

// The known key a typo most likely meant, or "" when none is close.
std::string closest_key(std::string_view unknown) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const key_row& r : key_table()) {
    const std::size_t d = edit_distance(unknown, r.key);
    if (d < best_distance) best = r.key, best_distance = d;
  }
  if (best_distance <= std::max<std::size_t>(2, unknown.size() / 4)) return best;
  // A key in the wrong section (or before any "[section]") still names its leaf.
  const std::string_view leaf = unknown.substr(unknown.rfind('.') + 1);
  std::vector<std::string> same_leaf;
  for (const key_row& r : key_table())
    if (std::string_view(r.key).substr(r.key.find('.') + 1) == leaf) same_leaf.push_back(r.key);
  return same_leaf.size() == 1 ? same_leaf.front() : std::string();
}

std::string unknown_key_message(std::string_view source, std::string_view key) {
  std::string msg = fmt::format("{}: unknown key '{}'", printable(source), printable(key));
  if (const std::string guess = closest_key(key); !guess.empty()) msg += fmt::format("; did you mean '{}'?", guess);
  return msg;
}

// boost only refuses a repeated key when it stores it, and not at all when the
// command line already set it; check every source ourselves instead.
void check_no_repeats(const po::parsed_options& parsed, std::string_view source) {
  std::map<std::string, std::string> seen;
  for (const auto& o : parsed.options) {
    const std::string value = o.value.empty() ? std::string() : o.value.front();
    if (const auto [it, fresh] = seen.emplace(o.string_key, value); !fresh)
      throw config_error(fmt::format("{}: key '{}' is given more than once ('{}', then '{}')", printable(source),
                                     o.string_key, printable(it->second), printable(value)));
  }
}

// model.layers alone (or above a file's arch) means arch = layers; a preset
// with a layer list, or arch = layers without one, is a contradiction to point out.
void check_model_keys(experiment_config& c, bool arch_given, std::string_view source) {
  model_config& m = c.model;
  if (!m.layers.empty() && !arch_given) m.arch = model_arch::layers;
  if (m.arch == model_arch::layers && m.layers.empty())
    throw config_error(fmt::format("{}: model.arch = layers needs model.layers, e.g. 'layers = linear(1024) "
                                   "sigmoid@hidden, linear(784)'", printable(source)));
  if (m.arch != model_arch::layers && !m.layers.empty())
    throw config_error(fmt::format("{}: model.layers is given but model.arch = {} (a preset with its own layers): "
                                   "expected model.arch = layers, or no model.layers",
                                   printable(source), to_string(m.arch)));
}

// ---- the two sources ----

// Read by the one INI reader (ini.hpp), then handed to boost as parsed options.
po::parsed_options parse_file(const std::string& path, const po::options_description& desc) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string shown = printable(path);
  if (!fs::exists(path, ec)) throw config_error(fmt::format("{}: no such config file", shown));
  ini_text ini;
  try {
    ini = read_ini(read_input_text(path, "a config file"));
  } catch (const input_error& e) {
    throw config_error(e.what());
  }
  if (!ini.problems.empty()) {
    const ini_problem& p = ini.problems.front();
    throw config_error(fmt::format("{}: invalid line '{}' (line {}): expected 'key = value' or '[section]'", shown,
                                   printable(p.text), p.line));
  }
  po::parsed_options parsed(&desc);
  for (const ini_entry& e : ini.entries) {
    const std::string key = e.dotted();
    if (!desc.find_nothrow(key, false)) throw config_error(unknown_key_message(path, key));
    parsed.options.emplace_back(key, std::vector<std::string>{e.value});
  }
  return parsed;
}

// The three token forms become (key, value) pairs by hand: boost's command
// line parser refuses the bare "key=value" form and an empty "--key=".
po::parsed_options parse_overrides(const std::vector<std::string>& tokens, const po::options_description& desc) {
  po::parsed_options parsed(&desc);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    std::string_view t = tokens[i];
    const bool dashed = t.starts_with("--");
    if (dashed) t.remove_prefix(2);
    std::string key, value;
    if (const auto eq = t.find('='); eq != std::string_view::npos) {
      key = t.substr(0, eq);
      value = t.substr(eq + 1);
    } else if (!dashed) {
      throw config_error(
          fmt::format("command line: unexpected argument '{}': expected --section.key=value", printable(t)));
    } else if (i + 1 == tokens.size() || tokens[i + 1].starts_with("--")) {
      throw config_error(fmt::format("command line: --{0} has no value: expected --{0}=VALUE or --{0} VALUE",
                                     printable(t)));
    } else {
      key = t;
      value = tokens[++i];
    }
    // An empty key matches every option's (empty) short name: boost would throw ambiguous_option.
    if (key.empty() || !desc.find_nothrow(key, false)) throw config_error(unknown_key_message("command line", key));
    parsed.options.emplace_back(key, std::vector<std::string>{value});
  }
  return parsed;
}

}  // namespace

std::string_view to_string(model_arch v) { return name_of<model_arch>(model_arch_names, v); }
std::string_view to_string(activation_kind v) { return name_of<activation_kind>(activation_names, v); }
std::string_view to_string(sparsity_kind v) { return name_of<sparsity_kind>(sparsity_names, v); }
std::string_view to_string(penalty_reduction v) { return name_of<penalty_reduction>(reduction_names, v); }
std::string_view to_string(loss_kind v) { return name_of<loss_kind>(loss_names, v); }
std::string_view to_string(optim_kind v) { return name_of<optim_kind>(optim_names, v); }

experiment_config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  const po::options_description desc = make_description();
  const po::parsed_options cmd = parse_overrides(overrides, desc);
  check_no_repeats(cmd, "command line");

  // The first stored value wins, so the command line goes in before the file.
  po::variables_map vm;
  po::store(cmd, vm);
  if (!path.empty()) {
    const po::parsed_options file = parse_file(path, desc);
    check_no_repeats(file, path);
    po::store(file, vm);
  }

  std::set<std::string> from_cmd;
  for (const auto& o : cmd.options) from_cmd.insert(o.string_key);

  experiment_config c;
  if (!path.empty()) c.run.name = run_name_of_stem(std::filesystem::path(path).stem().string());
  for (const key_row& r : key_table()) {
    if (!vm.count(r.key)) continue;
    apply(r, c, vm[r.key].as<std::string>(), from_cmd.count(r.key) ? std::string_view("command line") : path);
  }
  // A layer list on the command line overrides the file's model.arch (a
  // preset) as any override does; one in the same place as arch must agree with it.
  const bool arch_given =
      vm.count("model.arch") != 0 && (from_cmd.count("model.arch") != 0 || from_cmd.count("model.layers") == 0);
  check_model_keys(c, arch_given, from_cmd.count("model.layers") ? "command line" : path);
  return c;
}

std::string to_ini(const experiment_config& c) {
  std::string out = "# saelab experiment config: every key, defaults included\n";
  std::string_view section;
  for (const key_row& r : key_table()) {
    const std::size_t dot = r.key.find('.');
    const std::string_view this_section = std::string_view(r.key).substr(0, dot);
    if (this_section != section) {
      out += fmt::format("{}[{}]\n", section.empty() ? "" : "\n", this_section);
      section = this_section;
    }
    const std::string value = r.get(c);
    // Read it back now, so a config that could not be loaded is never written.
    experiment_config scratch;
    apply(r, scratch, value, "to_ini");
    out += fmt::format("{} ={}{}\n", r.key.substr(dot + 1), value.empty() ? "" : " ", value);
  }
  return out;
}

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const key_row& r : key_table()) keys.push_back(r.key);
  return keys;
}

}  // namespace saelab
