#include "config/ini.hpp"

#include <map>

namespace saelab {

namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

}  // namespace

std::string ini_entry::dotted() const { return section_name.empty() ? key : section_name + "." + key; }

ini_text read_ini(std::string_view text) {
  ini_text out;
  std::map<std::string, int> first_seen;  // dotted key -> line
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const std::string_view line = trim(raw.substr(0, raw.find('#')));
    if (line.empty()) continue;
    if (line.front() == '[') {
      const bool closed = line.back() == ']';
      out.sections.push_back({std::string(closed ? trim(line.substr(1, line.size() - 2)) : line), line_no, closed});
      if (!closed) out.problems.push_back({line_no, std::string(line), "expected a section header like [name]"});
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || trim(line.substr(0, eq)).empty()) {
      out.problems.push_back(
          {line_no, std::string(line), eq == std::string_view::npos ? "expected 'key = value'" : "no key before '='"});
      continue;
    }
    ini_entry e;
    e.key = trim(line.substr(0, eq));
    e.value = trim(line.substr(eq + 1));
    e.line = line_no;
    e.section = static_cast<int>(out.sections.size()) - 1;
    if (e.section >= 0) e.section_name = out.sections.back().name;
    if (const auto [it, fresh] = first_seen.emplace(e.dotted(), line_no); !fresh) e.first_line = it->second;
    out.entries.push_back(std::move(e));
  }
  return out;
}

std::map<std::string, std::string> ini_values(std::string_view text) {
  std::map<std::string, std::string> out;
  for (const ini_entry& e : read_ini(text).entries) out[e.dotted()] = e.value;
  return out;
}

}  // namespace saelab
