#pragma once
// CSV as the sweep writes and reads it (RFC 4180): a header row, then rows
// of the same width; a field holding a comma, a quote or a line break is
// quoted, with quotes doubled. Lines end in "\n".
//
//   csv_table t{{"id", "test_bce"}, {{"000-kl", "0.0812"}}};
//   std::string text = to_csv(t);
//   csv_table back = parse_csv(text);          // == t
//   back.column("test_bce")                    // 1; throws when missing

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace saelab {

struct csv_table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  // The index of a header name; throws std::runtime_error naming it when absent.
  std::size_t column(std::string_view name) const;
  // Whether the header has it.
  bool has(std::string_view name) const;
  bool operator==(const csv_table&) const = default;
};

std::string csv_field(std::string_view s);
std::string to_csv(const csv_table& t);
// Throws std::runtime_error (with `source` and the line) for an unclosed
// quote or a row whose width differs from the header's.
csv_table parse_csv(std::string_view text, std::string_view source = "csv");
csv_table read_csv(const std::filesystem::path& path);

}  // namespace saelab
