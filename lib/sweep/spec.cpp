#include "sweep/spec.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "config/ini.hpp"
#include "io/input_file.hpp"

namespace saelab {

namespace fs = std::filesystem;

namespace {

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return std::string(s.substr(first, last - first + 1));
}

// Splits on commas outside double quotes; quotes are removed from the items.
// Throws on an unclosed quote or an empty item.
std::vector<std::string> split_items(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  bool quoted = false, was_quoted = false;
  auto finish = [&] {
    const std::string t = was_quoted ? item : trim(item);
    if (t.empty() && !was_quoted)
      throw sweep_error(fmt::format("'{}' has an empty item: expected values separated by commas", text));
    items.push_back(t);
    item.clear();
    was_quoted = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      if (!quoted && trim(item).size() > 0)
        throw sweep_error(fmt::format("'{}': a quote must open an item: expected \"text\" as a whole item", text));
      if (!quoted) item.clear();
      quoted = !quoted;
      was_quoted = true;
      if (!quoted) {  // after a closing quote only blanks may come before the comma
        const auto next = text.find_first_not_of(" \t", i + 1);
        if (next != std::string::npos && text[next] != ',')
          throw sweep_error(fmt::format("'{}': text after a closing quote: expected a comma", text));
        i = next == std::string::npos ? text.size() : next - 1;
      }
    } else if (c == ',' && !quoted) {
      finish();
    } else {
      item += c;
    }
  }
  if (quoted) throw sweep_error(fmt::format("'{}' has an unclosed quote", text));
  finish();
  return items;
}

double parse_number(const std::string& s, std::string_view what, const std::string& whole) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
    throw sweep_error(fmt::format("'{}': {} '{}' is not a number", whole, what, s));
  return v;
}

bool looks_integer(const std::string& s) {
  return !s.empty() && s.find_first_of(".eE") == std::string::npos;
}

// "log(1e-3, 1e-1, 5)" -> {"log", {"1e-3", "1e-1", "5"}}, or nullopt for a plain list.
struct call {
  std::string fn;
  std::vector<std::string> args;
};

std::optional<call> parse_call(const std::string& text) {
  for (const char* fn : {"log", "range"}) {
    const std::string f = fn;
    if (text.rfind(f, 0) != 0) continue;
    const std::string rest = trim(text.substr(f.size()));
    if (rest.empty() || rest[0] != '(') continue;  // e.g. the plain value "logistic"
    if (rest.back() != ')')
      throw sweep_error(fmt::format("'{}': expected {}(...) with a closing parenthesis at the end", text, f));
    call c{f, {}};
    for (const std::string& a : split_items(rest.substr(1, rest.size() - 2))) c.args.push_back(trim(a));
    return c;
  }
  return std::nullopt;
}

std::vector<std::string> expand_log(const call& c, const std::string& text) {
  if (c.args.size() != 3)
    throw sweep_error(fmt::format("'{}': expected log(a, b, n): three arguments, got {}", text, c.args.size()));
  const double a = parse_number(c.args[0], "a", text), b = parse_number(c.args[1], "b", text);
  const double nd = parse_number(c.args[2], "n", text);
  if (!(a > 0 && b > 0)) throw sweep_error(fmt::format("'{}': log(a, b, n) needs a > 0 and b > 0", text));
  if (!looks_integer(c.args[2]) || nd < 1 || nd > 10000)
    throw sweep_error(fmt::format("'{}': log(a, b, n) needs an integer n in [1, 10000]", text));
  const int n = static_cast<int>(nd);
  if (n == 1 && a != b) throw sweep_error(fmt::format("'{}': log(a, b, 1) needs a == b", text));
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    const double v = n == 1 ? a : a * std::pow(b / a, static_cast<double>(i) / (n - 1));
    out.push_back(fmt::format("{:.4g}", v));
  }
  return out;
}

std::vector<std::string> expand_range(const call& c, const std::string& text) {
  if (c.args.size() != 3)
    throw sweep_error(
        fmt::format("'{}': expected range(a, b, step): three arguments, got {}", text, c.args.size()));
  const double a = parse_number(c.args[0], "a", text), b = parse_number(c.args[1], "b", text);
  const double step = parse_number(c.args[2], "step", text);
  if (step == 0 || (b - a) * step < 0)
    throw sweep_error(fmt::format("'{}': range(a, b, step) needs a step that goes from a towards b", text));
  const double count = std::floor((b - a) / step + 1e-9) + 1;
  if (count > 10000) throw sweep_error(fmt::format("'{}': more than 10000 values", text));
  const bool integers = looks_integer(c.args[0]) && looks_integer(c.args[1]) && looks_integer(c.args[2]);
  std::vector<std::string> out;
  for (int i = 0; i < static_cast<int>(count); ++i) {
    const double v = a + i * step;  // not accumulated: no drift
    out.push_back(integers ? fmt::format("{}", static_cast<long long>(std::llround(v))) : fmt::format("{:.12g}", v));
  }
  return out;
}

std::string location(const fs::path& file, int line) { return fmt::format("{}:{}", file.string(), line); }

}  // namespace

std::string_view to_string(sweep_mode m) { return m == sweep_mode::grid ? "grid" : "zip"; }

std::vector<std::string> parse_value_list(const std::string& text_in) {
  const std::string text = trim(text_in);
  if (text.empty()) throw sweep_error("no values: expected a comma list, log(a, b, n) or range(a, b, step)");
  if (const auto c = parse_call(text)) return c->fn == "log" ? expand_log(*c, text) : expand_range(*c, text);
  if (text.find('(') != std::string::npos || text.find(')') != std::string::npos) {
    const std::string head = trim(text.substr(0, text.find('(')));
    throw sweep_error(fmt::format("'{}': unknown function '{}': expected a comma list, log(a, b, n) or "
                                  "range(a, b, step)",
                                  text, head));
  }
  return split_items(text);
}

sweep_spec read_sweep_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw sweep_error(fmt::format("{}: no such sweep file", path.string()));
  try {
    return parse_sweep(read_input_text(path, "a sweep file"), path);
  } catch (const input_error& e) {
    throw sweep_error(e.what());
  }
}

namespace {

// What a section of the sweep file is; `other` is reported already and its keys ignored.
enum class section_role { none, sweep, fixed, grid, other };

// parse_sweep's state: the spec being filled and every problem found, each
// with its line (0: the whole file).
struct sweep_reader {
  const fs::path& path;
  sweep_spec spec;
  std::vector<std::pair<int, std::string>> problems;
  std::vector<section_role> roles;         // per ini section
  std::vector<int> grid_of;                // per ini section: its index in spec.sections, or -1
  std::vector<std::size_t> longest;        // per grid section: its longest list
  std::uint64_t fewest_points = 0;         // sum of `longest`: a lower bound on the runs in either mode
  bool have_base = false;
  int sweep_line = 0;

  void problem(int line, std::string msg) { problems.emplace_back(line, std::move(msg)); }
  [[noreturn]] void fail() const {
    std::vector<std::string> lines;
    for (const auto& [line, msg] : problems) lines.push_back(line > 0 ? location(path, line) + ": " + msg : msg);
    throw sweep_error(fmt::format("{}", fmt::join(lines, "\n")));
  }

  void read_sections(const ini_text& ini);
  void read_sweep_key(const ini_entry& e);
  void read_axis(const ini_entry& e, section_role role);
  void check_complete();
  void resolve_base();
};

bool is_label(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

void sweep_reader::read_sections(const ini_text& ini) {
  std::set<std::string> names;
  for (const ini_section& sec : ini.sections) {
    section_role role = section_role::other;
    int grid = -1;
    const std::string& name = sec.name;
    if (!sec.well_formed) {
      // read_ini reported the line
    } else if (!names.insert(name).second) {
      problem(sec.line, fmt::format("section [{}] appears twice", name));
    } else if (name == "sweep") {
      role = section_role::sweep;
      sweep_line = sec.line;
    } else if (name == "fixed") {
      role = section_role::fixed;
    } else if (name == "grid" || name.rfind("grid.", 0) == 0) {
      role = section_role::grid;
      sweep_section s;
      s.label = name == "grid" ? "" : name.substr(5);
      s.line = sec.line;
      if (name != "grid" && !is_label(s.label))
        problem(sec.line, fmt::format("[{}]: a label may hold only letters, digits, '_' and '-'", name));
      grid = static_cast<int>(spec.sections.size());
      spec.sections.push_back(std::move(s));
    } else {
      problem(sec.line,
              fmt::format("unknown section [{}]: expected [sweep], [fixed], [grid] or [grid.<label>]", name));
    }
    roles.push_back(role);
    grid_of.push_back(grid);
  }
  longest.assign(spec.sections.size(), 0);
}

void sweep_reader::read_sweep_key(const ini_entry& e) {
  const std::string& key = e.key;
  const std::string& value = e.value;
  const int line = e.line;
  if (e.first_line != 0) {
    problem(line, fmt::format("[sweep] {} is given twice", key));
  } else if (key == "base") {
    have_base = true;
    spec.base_as_written = value;
    if (value.empty()) problem(line, "[sweep] base is empty: expected the path of a config file");
  } else if (key == "mode") {
    if (value == "grid") spec.mode = sweep_mode::grid;
    else if (value == "zip") spec.mode = sweep_mode::zip;
    else problem(line, fmt::format("[sweep] mode = '{}': expected grid or zip", value));
  } else if (key == "seeds") {
    int n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 1000)
      problem(line, fmt::format("[sweep] seeds = '{}': expected a number of seeds in [1, 1000]", value));
    else spec.seeds = n;
  } else if (key == "name") {
    const bool ok = !value.empty() && value != "." && value != ".." &&
                    std::all_of(value.begin(), value.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
                    });
    if (ok) spec.name = value;
    else problem(line, fmt::format("[sweep] name = '{}': expected letters, digits, '_', '-' or '.'", value));
  } else {
    problem(line, fmt::format("[sweep] has no key '{}': expected base, mode, seeds or name", key));
  }
}

// One key of [fixed] or of a [grid*] section, with its value list.
void sweep_reader::read_axis(const ini_entry& e, section_role role) {
  const std::string& section = e.section_name;
  if (e.first_line != 0) {
    problem(e.line, fmt::format("[{}] {} is given twice: put every value in one list", section, e.key));
    return;
  }
  sweep_axis axis{e.key, {}, e.line};
  try {
    axis.values = parse_value_list(e.value);
  } catch (const sweep_error& err) {
    problem(e.line, fmt::format("[{}] {}: {}", section, e.key, err.what()));
    return;
  }
  if (role == section_role::fixed) {
    if (axis.values.size() != 1)
      problem(e.line, fmt::format("[fixed] {} has {} values: [fixed] takes one value per key; sweep it in a [grid] "
                                  "section",
                                  e.key, axis.values.size()));
    spec.fixed.push_back(std::move(axis));
    return;
  }
  // Past the cap, stop before more lists are expanded (log() and range()
  // make 10000 values from one line).
  const auto g = static_cast<std::size_t>(grid_of[static_cast<std::size_t>(e.section)]);
  const std::size_t n = axis.values.size();
  spec.sections[g].axes.push_back(std::move(axis));
  if (n > longest[g]) fewest_points += n - std::exchange(longest[g], n);
  if (fewest_points > max_sweep_runs) {
    problem(e.line, fmt::format("[{}] {}: the lists so far make more than the {} runs a sweep may have", section,
                                e.key, max_sweep_runs));
    fail();
  }
}

void sweep_reader::check_complete() {
  if (sweep_line == 0) problem(0, fmt::format("{}: no [sweep] section", path.string()));
  else if (!have_base) problem(sweep_line, "[sweep] has no base: expected base = <config file>");
  if (spec.sections.empty()) problem(0, fmt::format("{}: no [grid] section: nothing to sweep", path.string()));
  for (const sweep_section& s : spec.sections)
    if (s.axes.empty())
      problem(s.line, fmt::format("[{}] is empty: expected at least one 'key = values' line",
                                  s.label.empty() ? "grid" : "grid." + s.label));
}

// Against the current directory, then the sweep file's directory.
void sweep_reader::resolve_base() {
  if (!have_base || spec.base_as_written.empty()) return;
  std::error_code ec;
  const fs::path as_written = spec.base_as_written;
  const fs::path beside = path.parent_path() / as_written;
  if (fs::exists(as_written, ec)) spec.base = as_written;
  else if (!as_written.is_absolute() && fs::exists(beside, ec)) spec.base = beside;
  else
    problem(0, fmt::format("{}: base config '{}' not found (looked in the current directory and in '{}')",
                           path.string(), spec.base_as_written,
                           path.parent_path().empty() ? "." : path.parent_path().string()));
  if (spec.base.empty()) return;
  try {
    check_input_file(spec.base, "a config file");
  } catch (const input_error& e) {
    problem(0, fmt::format("{}: base: {}", path.string(), e.what()));
  }
}

}  // namespace

sweep_spec parse_sweep(const std::string& text, const fs::path& path) {
  sweep_reader r{path, {}, {}, {}, {}, {}, 0, false, 0};
  r.spec.file = path;
  r.spec.text = text;
  r.spec.name = path.stem().string();

  const ini_text ini = read_ini(text);
  for (const ini_problem& p : ini.problems) r.problem(p.line, fmt::format("'{}': {}", p.text, p.message));
  r.read_sections(ini);
  for (const ini_entry& e : ini.entries) {
    const section_role role = e.section < 0 ? section_role::none : r.roles[static_cast<std::size_t>(e.section)];
    switch (role) {
      case section_role::none:
        r.problem(e.line, fmt::format("'{}' comes before any section: expected [sweep] first", e.key));
        break;
      case section_role::other: break;  // its section is reported already
      case section_role::sweep: r.read_sweep_key(e); break;
      case section_role::fixed:
      case section_role::grid: r.read_axis(e, role); break;
    }
  }
  r.check_complete();
  r.resolve_base();
  // File-wide problems first, then by line.
  std::stable_sort(r.problems.begin(), r.problems.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (!r.problems.empty()) r.fail();
  return std::move(r.spec);
}

}  // namespace saelab
