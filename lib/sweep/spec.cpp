#include "sweep/spec.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include <fmt/format.h>

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

sweep_spec parse_sweep(const std::string& text, const fs::path& path) {
  sweep_spec spec;
  spec.file = path;
  spec.text = text;
  spec.name = path.stem().string();

  std::vector<std::string> problems;
  // Every section has at least as many points as its longest list, so their sum
  // bounds the runs from below in either mode; past the cap, stop before more
  // lists are expanded (log() and range() make 10000 values from one line).
  std::uint64_t fewest_points = 0;
  std::vector<std::size_t> longest;  // per section
  auto problem = [&](int line, const std::string& msg) { problems.push_back(location(path, line) + ": " + msg); };

  enum class where { none, sweep, fixed, grid, other } in = where::none;
  std::set<std::string> sweep_keys_seen, section_names;
  std::set<std::string> keys_in_section;
  bool have_base = false;
  int sweep_line = 0;

  std::istringstream lines(text);
  std::string raw;
  int line_no = 0;
  while (std::getline(lines, raw)) {
    ++line_no;
    const std::string line = trim(raw.substr(0, raw.find('#')));
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        problem(line_no, fmt::format("'{}': expected a section header like [grid]", line));
        in = where::other;
        continue;
      }
      const std::string name = trim(line.substr(1, line.size() - 2));
      if (!section_names.insert(name).second) problem(line_no, fmt::format("section [{}] appears twice", name));
      keys_in_section.clear();
      if (name == "sweep") {
        in = where::sweep;
        sweep_line = line_no;
      } else if (name == "fixed") {
        in = where::fixed;
      } else if (name == "grid" || name.rfind("grid.", 0) == 0) {
        in = where::grid;
        sweep_section s;
        s.label = name == "grid" ? "" : name.substr(5);
        s.line = line_no;
        const bool label_ok =
            name == "grid" || (!s.label.empty() && std::all_of(s.label.begin(), s.label.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
            }));
        if (!label_ok)
          problem(line_no, fmt::format("[{}]: a label may hold only letters, digits, '_' and '-'", name));
        spec.sections.push_back(std::move(s));
      } else {
        problem(line_no, fmt::format("unknown section [{}]: expected [sweep], [fixed], [grid] or [grid.<label>]", name));
        in = where::other;
      }
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      problem(line_no, fmt::format("'{}': expected 'key = value'", line));
      continue;
    }
    const std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key.empty()) {
      problem(line_no, fmt::format("'{}': no key before '='", line));
      continue;
    }
    switch (in) {
      case where::none:
        problem(line_no, fmt::format("'{}' comes before any section: expected [sweep] first", key));
        break;
      case where::other:
        break;  // its section is reported already
      case where::sweep: {
        if (!sweep_keys_seen.insert(key).second) {
          problem(line_no, fmt::format("[sweep] {} is given twice", key));
          break;
        }
        if (key == "base") {
          have_base = true;
          spec.base_as_written = value;
          if (value.empty()) problem(line_no, "[sweep] base is empty: expected the path of a config file");
        } else if (key == "mode") {
          if (value == "grid") spec.mode = sweep_mode::grid;
          else if (value == "zip") spec.mode = sweep_mode::zip;
          else problem(line_no, fmt::format("[sweep] mode = '{}': expected grid or zip", value));
        } else if (key == "seeds") {
          int n = 0;
          const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
          if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 1000)
            problem(line_no, fmt::format("[sweep] seeds = '{}': expected a number of seeds in [1, 1000]", value));
          else spec.seeds = n;
        } else if (key == "name") {
          const bool ok = !value.empty() && value != "." && value != ".." &&
                          std::all_of(value.begin(), value.end(), [](char c) {
                            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
                          });
          if (ok) spec.name = value;
          else problem(line_no, fmt::format("[sweep] name = '{}': expected letters, digits, '_', '-' or '.'", value));
        } else {
          problem(line_no, fmt::format("[sweep] has no key '{}': expected base, mode, seeds or name", key));
        }
        break;
      }
      case where::fixed:
      case where::grid: {
        const std::string section = in == where::fixed ? std::string("fixed")
                                    : spec.sections.back().label.empty()
                                        ? std::string("grid")
                                        : "grid." + spec.sections.back().label;
        if (!keys_in_section.insert(key).second) {
          problem(line_no, fmt::format("[{}] {} is given twice: put every value in one list", section, key));
          break;
        }
        sweep_axis axis{key, {}, line_no};
        try {
          axis.values = parse_value_list(value);
        } catch (const sweep_error& e) {
          problem(line_no, fmt::format("[{}] {}: {}", section, key, e.what()));
          break;
        }
        if (in == where::fixed) {
          if (axis.values.size() != 1)
            problem(line_no, fmt::format("[fixed] {} has {} values: [fixed] takes one value per key; sweep it in "
                                         "a [grid] section",
                                         key, axis.values.size()));
          spec.fixed.push_back(std::move(axis));
        } else {
          const std::size_t n = axis.values.size();
          spec.sections.back().axes.push_back(std::move(axis));
          longest.resize(spec.sections.size(), 0);
          if (n > longest.back()) fewest_points += n - std::exchange(longest.back(), n);
          if (fewest_points > max_sweep_runs) {
            problem(line_no, fmt::format("[{}] {}: the lists so far make more than the {} runs a sweep may have",
                                         section, key, max_sweep_runs));
            throw sweep_error(fmt::format("{}", fmt::join(problems, "\n")));
          }
        }
        break;
      }
    }
  }

  if (sweep_line == 0) problems.insert(problems.begin(), fmt::format("{}: no [sweep] section", path.string()));
  else if (!have_base) problem(sweep_line, "[sweep] has no base: expected base = <config file>");
  if (spec.sections.empty())
    problems.push_back(fmt::format("{}: no [grid] section: nothing to sweep", path.string()));
  for (const sweep_section& s : spec.sections)
    if (s.axes.empty())
      problem(s.line, fmt::format("[{}] is empty: expected at least one 'key = values' line",
                                  s.label.empty() ? "grid" : "grid." + s.label));

  if (have_base && !spec.base_as_written.empty()) {
    std::error_code ec;
    const fs::path as_written = spec.base_as_written;
    const fs::path beside = path.parent_path() / as_written;
    if (fs::exists(as_written, ec)) spec.base = as_written;
    else if (!as_written.is_absolute() && fs::exists(beside, ec)) spec.base = beside;
    else
      problems.push_back(fmt::format("{}: base config '{}' not found (looked in the current directory and in '{}')",
                                     path.string(), spec.base_as_written,
                                     path.parent_path().empty() ? "." : path.parent_path().string()));
    if (!spec.base.empty()) {
      try {
        check_input_file(spec.base, "a config file");
      } catch (const input_error& e) {
        problems.push_back(fmt::format("{}: base: {}", path.string(), e.what()));
      }
    }
  }

  if (!problems.empty()) throw sweep_error(fmt::format("{}", fmt::join(problems, "\n")));
  return spec;
}

}  // namespace saelab
