#include "cli/cli.hpp"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include <fmt/format.h>

#include "config/printable.hpp"
#include "experiment/checkpoint.hpp"

namespace saelab::cli {

namespace {

const option* find_option(const program& p, std::string_view name) {
  for (const option& o : p.options)
    if (std::find(o.names.begin(), o.names.end(), name) != o.names.end()) return &o;
  return nullptr;
}

// Edits (insert, delete, substitute) turning a into b.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::vector<std::string> all_names(const program& p) {
  std::vector<std::string> names;
  for (const option& o : p.options) names.insert(names.end(), o.names.begin(), o.names.end());
  names.insert(names.end(), {"--help", "--version"});
  return names;
}

// "--out DIR, -j N, --quiet, --section.key=VALUE, --help, --version"
std::string option_list(const program& p) {
  std::string text;
  for (const option& o : p.options) {
    for (const std::string& n : o.names) text += n + (o.value.empty() ? "" : " " + o.value) + ", ";
  }
  if (p.overrides) text += "--section.key=VALUE, ";
  return text + "--help, --version";
}

[[noreturn]] void unknown_option(const program& p, std::string_view token) {
  const std::string_view name = token.substr(0, token.find('='));
  std::string nearest;
  std::size_t best = 3;  // a near miss: at most two edits, and fewer than half the name
  for (const std::string& n : all_names(p)) {
    const std::size_t d = edit_distance(name, n);
    if (d < best && 2 * d < n.size()) best = d, nearest = n;
  }
  throw usage_error(fmt::format("unknown option '{}'{}; {} takes {}", printable(name),
                                nearest.empty() ? "" : fmt::format(" (did you mean {}?)", nearest), p.name,
                                option_list(p)));
}

bool is_dotted(std::string_view name) { return name.find('.') != std::string_view::npos; }

}  // namespace

std::string arguments::value_or(const std::string& name, const std::string& fallback) const {
  const auto it = values.find(name);
  return it == values.end() ? fallback : it->second;
}

arguments parse(const program& p, int argc, const char* const* argv) {
  arguments a;
  bool options_end = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view token = argv[i];
    const bool dashed = token.size() > 1 && token[0] == '-' && !options_end;
    if (!dashed) {
      const std::string_view key = token.substr(0, token.find('='));
      if (p.overrides && !options_end && key.size() < token.size() && is_dotted(key) &&
          key.find('/') == std::string_view::npos) {
        a.overrides.push_back("--" + std::string(token));
      } else if (a.positionals.empty()) {
        a.positionals.emplace_back(token);
      } else {
        throw usage_error(fmt::format("unexpected argument '{}' (one {} only)", printable(token), p.positional));
      }
      continue;
    }
    if (token == "--") {
      options_end = true;
      continue;
    }
    if (token == "--help" || token == "-h") {
      a.help = true;
      return a;
    }
    if (token == "--version") {
      a.version = true;
      return a;
    }
    const auto eq = token.find('=');
    const std::string_view name = token.substr(0, eq);
    const bool has_eq = eq != std::string_view::npos && token.starts_with("--");
    const std::string shown = printable(name);
    if (const option* o = find_option(p, has_eq ? name : token)) {
      if (o->value.empty()) {
        if (has_eq) throw usage_error(fmt::format("{} takes no value", shown));
        a.values[o->names.front()] = "";
      } else if (has_eq) {
        a.values[o->names.front()] = std::string(token.substr(eq + 1));
      } else if (i + 1 == argc) {
        throw usage_error(fmt::format("{0} needs a value: {0} {1}", shown, o->value));
      } else {
        a.values[o->names.front()] = argv[++i];
      }
      continue;
    }
    // "-j2": a one-letter option and its value in one token
    if (!token.starts_with("--") && token.size() > 2)
      if (const option* o = find_option(p, token.substr(0, 2)); o && !o->value.empty()) {
        a.values[o->names.front()] = std::string(token.substr(2));
        continue;
      }
    if (p.overrides && token.starts_with("--") && is_dotted(name)) {
      if (has_eq) {
        a.overrides.emplace_back(token);
      } else if (i + 1 == argc || std::string_view(argv[i + 1]).starts_with("--")) {
        throw usage_error(fmt::format("{0} has no value: expected {0}=VALUE or {0} VALUE", shown));
      } else {
        a.overrides.push_back(fmt::format("{}={}", token, argv[++i]));
      }
      continue;
    }
    unknown_option(p, token);
  }
  return a;
}

std::optional<int> parse_or_exit(const program& p, int argc, const char* const* argv, arguments& out) {
  try {
    out = parse(p, argc, argv);
  } catch (const usage_error& e) {
    fmt::print(stderr, "{}: {}\n", p.name, e.what());
    return 2;
  }
  if (out.help) {
    fmt::print("{}", p.usage);
    return 0;
  }
  if (out.version) {
    fmt::print("{}\n", version_line(p.name));
    return 0;
  }
  return std::nullopt;
}

int to_int(const std::string& option, const std::string& value, int min) {
  try {
    std::size_t used = 0;
    const int n = std::stoi(value, &used);
    if (used == value.size() && n >= min) return n;
  } catch (const std::exception&) {
  }
  throw usage_error(fmt::format("{} '{}': expected an integer >= {}", option, printable(value), min));
}

std::string version_line(const std::string& program_name) {
  return fmt::format("{} {} (git {})", program_name, program_version(), git_revision());
}

}  // namespace saelab::cli
