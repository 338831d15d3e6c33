#include "config/layer_list.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "config/printable.hpp"

namespace saelab {

namespace {

// One layer kind's arguments: `required` positional ones, then options
// that may also be given as name=value, with their defaults (-1: the value
// of the first argument, maxpool's stride). Every argument is at least 1,
// but paddings, which may be 0.
struct kind_row {
  std::string_view kind;
  std::vector<std::string_view> names;
  std::size_t required;
  std::vector<std::int64_t> defaults;  // for names[required...]
};

const std::vector<kind_row>& kinds() {
  static const std::vector<kind_row> rows = {
      {"linear", {"out"}, 1, {}},
      {"conv", {"out", "k", "stride", "pad"}, 2, {1, 0}},
      {"convT", {"out", "k", "stride", "pad", "outpad"}, 2, {1, 0, 0}},
      {"maxpool", {"k", "stride"}, 1, {-1}},
      {"relu", {}, 0, {}},
      {"sigmoid", {}, 0, {}},
  };
  return rows;
}

std::int64_t lowest(std::string_view name) { return name.find("pad") != std::string_view::npos ? 0 : 1; }

const kind_row* find_kind(std::string_view kind) {
  for (const kind_row& r : kinds())
    if (r.kind == kind) return &r;
  return nullptr;
}

std::string known_kinds() {
  std::string out;
  for (const kind_row& r : kinds()) out += fmt::format("{}{}", out.empty() ? "" : ", ", r.kind);
  return out;
}

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string_view trim(std::string_view s) {
  const auto a = s.find_first_not_of(" \t");
  if (a == std::string_view::npos) return {};
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

// The text split into layer tokens at blanks and commas outside parentheses.
std::vector<std::string_view> tokens_of(std::string_view text) {
  std::vector<std::string_view> out;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ',';
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth > 0 || (c != ',' && c != ' ' && c != '\t')) continue;
    if (i > start) out.push_back(text.substr(start, i - start));
    start = i + 1;
  }
  // An unclosed '(' swallowed the rest: hand it over whole, for its message.
  if (depth > 0) out.push_back(text.substr(start));
  return out;
}

class parser {
 public:
  parser(std::size_t position, std::string_view token) : position_(position), token_(token) {}

  layer_spec parse() {
    layer_spec s;
    std::string_view rest = token_;
    if (const auto at = rest.find('@'); at != std::string_view::npos) {
      s.site = std::string(rest.substr(at + 1));
      rest = rest.substr(0, at);
      if (s.site.empty() || !std::all_of(s.site.begin(), s.site.end(), name_char) ||
          std::isdigit(static_cast<unsigned char>(s.site[0])) || s.site == "all")
        fail(fmt::format("site name '{}' is not a name: expected letters, digits and '_', not starting with a "
                         "digit, and not 'all'", printable(s.site)));
    }
    const auto open = rest.find('(');
    const bool balanced = open == std::string_view::npos
                              ? rest.find(')') == std::string_view::npos
                              : rest.back() == ')' && rest.find('(', open + 1) == std::string_view::npos &&
                                    rest.find(')') == rest.size() - 1;
    if (!balanced) fail("unbalanced parentheses: expected NAME(ARG, ...)");
    s.kind = std::string(rest.substr(0, open));
    const kind_row* k = find_kind(s.kind);
    if (k == nullptr) fail(fmt::format("unknown layer '{}': expected one of {}", printable(s.kind), known_kinds()));
    std::vector<std::string_view> items;
    if (open != std::string_view::npos) {
      std::string_view inside = rest.substr(open + 1, rest.size() - open - 2);
      for (std::size_t a = 0; a <= inside.size();) {
        const std::size_t comma = std::min(inside.find(',', a), inside.size());
        items.push_back(trim(inside.substr(a, comma - a)));
        a = comma + 1;
      }
      if (items.size() == 1 && items[0].empty() && k->names.empty()) items.clear();
    }
    s.args = arguments(*k, items);
    return s;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw std::invalid_argument(fmt::format("layer {} '{}': {}", position_, printable(token_), why));
  }

  std::string usage(const kind_row& k) const {
    std::string list;
    for (std::size_t i = 0; i < k.names.size(); ++i)
      list += fmt::format("{}{}{}", i ? ", " : "", k.names[i], i < k.required ? "" : "=..");
    return fmt::format("{}({})", k.kind, list);
  }

  std::int64_t number(std::string_view name, std::string_view text, std::int64_t lo) const {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > layer_arg_max)
      fail(fmt::format("{} = '{}': expected an integer in [{}, {}]", name, printable(text), lo, layer_arg_max));
    return v;
  }

  std::vector<std::int64_t> arguments(const kind_row& k, const std::vector<std::string_view>& items) const {
    std::vector<std::int64_t> v(k.names.size(), 0);
    std::vector<bool> given(k.names.size(), false);
    std::size_t positional = 0;
    for (std::string_view item : items) {
      std::size_t index = positional;
      std::string_view value = item;
      if (const auto eq = item.find('='); eq != std::string_view::npos) {
        const std::string_view name = trim(item.substr(0, eq));
        value = trim(item.substr(eq + 1));
        index = static_cast<std::size_t>(std::find(k.names.begin(), k.names.end(), name) - k.names.begin());
        if (index == k.names.size())
          fail(fmt::format("no argument '{}': expected {}", printable(name), usage(k)));
      } else {
        if (positional != static_cast<std::size_t>(std::count(given.begin(), given.end(), true)))
          fail(fmt::format("positional argument after a named one: expected {}", usage(k)));
        ++positional;
      }
      if (index >= k.names.size()) fail(fmt::format("too many arguments: expected {}", usage(k)));
      if (given[index]) fail(fmt::format("{} given twice: expected {}", k.names[index], usage(k)));
      given[index] = true;
      v[index] = number(k.names[index], value, lowest(k.names[index]));
    }
    for (std::size_t i = 0; i < k.names.size(); ++i) {
      if (given[i]) continue;
      if (i < k.required) fail(fmt::format("{} is missing: expected {}", k.names[i], usage(k)));
      const std::int64_t d = k.defaults[i - k.required];
      v[i] = d < 0 ? v[0] : d;
    }
    return v;
  }

  std::size_t position_;
  std::string_view token_;
};

}  // namespace

std::int64_t layer_spec::arg(std::string_view name) const {
  const kind_row* k = find_kind(kind);
  const auto i = static_cast<std::size_t>(std::find(k->names.begin(), k->names.end(), name) - k->names.begin());
  if (i >= args.size()) throw std::logic_error(fmt::format("layer {} has no argument {}", kind, name));
  return args[i];
}

std::string layer_spec::text() const {
  const kind_row& k = *find_kind(kind);
  std::string out = kind;
  if (!k.names.empty()) {
    out += '(';
    for (std::size_t i = 0; i < k.names.size(); ++i) {
      if (i < k.required) {
        out += fmt::format("{}{}", i ? ", " : "", args[i]);
        continue;
      }
      const std::int64_t d = k.defaults[i - k.required];
      if (args[i] != (d < 0 ? args[0] : d)) out += fmt::format(", {}={}", k.names[i], args[i]);
    }
    out += ')';
  }
  return site.empty() ? out : out + "@" + site;
}

std::vector<layer_spec> parse_layer_list(std::string_view text) {
  std::vector<layer_spec> out;
  const auto tokens = tokens_of(text);
  if (tokens.empty()) throw std::invalid_argument("no layers: expected e.g. linear(1024) sigmoid@hidden, linear(784)");
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    layer_spec s = parser(i + 1, tokens[i]).parse();
    for (const layer_spec& before : out)
      if (!s.site.empty() && before.site == s.site)
        throw std::invalid_argument(
            fmt::format("layer {} '{}': site '{}' is named twice", i + 1, printable(tokens[i]), s.site));
    out.push_back(std::move(s));
  }
  return out;
}

std::string layer_list_text(const std::vector<layer_spec>& layers) {
  std::string out;
  // A comma after each site: one stage per comma, as people write it.
  for (std::size_t i = 0; i < layers.size(); ++i)
    out += (i == 0 ? "" : layers[i - 1].site.empty() ? " " : ", ") + layers[i].text();
  return out;
}

}  // namespace saelab
