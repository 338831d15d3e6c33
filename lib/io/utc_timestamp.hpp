#pragma once
// The time things are stamped with (DIR/status, run.h5's start_time,
// model.h5's saved_at, sweep logs): ISO 8601 in UTC, to the second.

#include <string>

namespace saelab {

// Now, e.g. "2025-01-31T12:00:00Z".
std::string utc_timestamp();

}  // namespace saelab
