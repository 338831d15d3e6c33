#include "report/quote.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace saelab {

namespace {

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

}  // namespace

std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (is_control(c)) c = '?';
  return out;
}

std::string gnuplot_quote(std::string_view text) {
  // gnuplot 5.4 misreads runs of doubled quotes (it ends the string early),
  // so each quote is concatenated in from a double-quoted "'" instead.
  std::string out = "'";
  for (char c : one_line(text)) out += c == '\'' ? std::string(R"('."'".')") : std::string(1, c);
  return out + "'";
}

std::string gnuplot_data_string(std::string_view text) {
  std::string out = one_line(text);
  for (char& c : out)
    if (c == '"') c = '\'';
  return "\"" + out + "\"";
}

std::string shell_quote(std::string_view word) {
  constexpr std::string_view plain =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:+,";
  if (!word.empty() && word.find_first_not_of(plain) == std::string_view::npos) return std::string(word);
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string slurm_job_name(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
    if (!keep) c = '_';
  }
  return out;
}

void check_script_line(std::string_view what, std::string_view text) {
  for (char c : text)
    if (is_control(c))
      throw std::runtime_error(fmt::format("{} '{}' holds a line break or control character: it cannot go into a "
                                           "script; rename it",
                                           what, one_line(text)));
}

void check_slurm_path(std::string_view what, std::string_view path) {
  check_script_line(what, path);
  for (char c : path) {
    if (c == ' ' || c == '"' || c == '\'' || c == '\\' || c == '#' || c == '%')
      throw std::runtime_error(fmt::format("{} '{}' holds '{}', which an #SBATCH line cannot carry reliably; use a "
                                           "path without blanks, quotes, '\\', '#' or '%' (e.g. --out DIR)",
                                           what, path, c));
  }
}

std::string_view ini_value_problem(std::string_view value) {
  for (char c : value)
    if (is_control(c)) return "a line break or control character";
  if (value.find('#') != std::string_view::npos) return "'#' (the INI reader drops the rest of the line)";
  const auto blank = [](char c) { return c == ' '; };
  if (!value.empty() && (blank(value.front()) || blank(value.back())))
    return "blanks at either end (the INI reader strips them)";
  return {};
}

}  // namespace saelab
