#include "train/run_status.hpp"

#include <utility>

namespace saelab {

namespace {

constexpr std::pair<std::string_view, run_status> status_names[] = {{"running", run_status::running},
                                                                    {"done", run_status::done},
                                                                    {"failed", run_status::failed},
                                                                    {"interrupted", run_status::interrupted}};

}  // namespace

std::string_view to_string(run_status s) {
  for (const auto& [name, value] : status_names)
    if (value == s) return name;
  return "?";
}

std::optional<run_status> parse_run_status(std::string_view text) {
  for (const auto& [name, value] : status_names)
    if (name == text) return value;
  return std::nullopt;
}

}  // namespace saelab
