#include "sweep/csv.hpp"

#include <sstream>

#include <fmt/format.h>

#include "io/input_file.hpp"

namespace saelab {

std::size_t csv_table::column(std::string_view name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  throw std::runtime_error(fmt::format("no column '{}'", name));
}

bool csv_table::has(std::string_view name) const {
  for (const auto& h : header)
    if (h == name) return true;
  return false;
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string to_csv(const csv_table& t) {
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) out += ',';  // not `(i ? "," : "") + field`: GCC 12 warns -Wrestrict on that temporary
      out += csv_field(cells[i]);
    }
    out += '\n';
  };
  line(t.header);
  for (const auto& r : t.rows) line(r);
  return out;
}

csv_table parse_csv(std::string_view text, std::string_view source) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, any = false;
  int line = 1, row_line = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
      }
      row.clear();
      field.clear();
      any = false;
      row_line = ++line;
    } else {
      field += c;
    }
  }
  if (quoted) throw std::runtime_error(fmt::format("{}:{}: unclosed quote", source, row_line));
  if (any || !field.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  csv_table t;
  if (rows.empty()) return t;
  t.header = std::move(rows.front());
  for (std::size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() != t.header.size())
      throw std::runtime_error(fmt::format("{}: row {} has {} fields, the header {}", source, r, rows[r].size(),
                                           t.header.size()));
    t.rows.push_back(std::move(rows[r]));
  }
  return t;
}

csv_table read_csv(const std::filesystem::path& path) {
  return parse_csv(read_input_text(path, "a CSV file"), path.string());
}

}  // namespace saelab
