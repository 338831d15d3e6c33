#pragma once
// Where a run stands, as DIR/status (experiment/run_dir.hpp) and run.h5's
// root `status` attribute (log/run_log.hpp) both record it.

#include <optional>
#include <string_view>

namespace saelab {

// running: training, or killed (a "running" run whose lock is free, or whose
// log has no writer alive); done: every epoch finished; failed: stopped by an
// error; interrupted: stopped on request, resumable.
enum class run_status { running, done, failed, interrupted };

std::string_view to_string(run_status s);  // "running", "done", "failed", "interrupted"
// The status a to_string text names; nullopt for any other text.
std::optional<run_status> parse_run_status(std::string_view text);

}  // namespace saelab
