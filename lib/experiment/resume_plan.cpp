#include "experiment/resume_plan.hpp"

#include <map>

#include <fmt/format.h>

#include "config/printable.hpp"
#include "experiment/checkpoint.hpp"

namespace saelab {

namespace fs = std::filesystem;

namespace {

// The keys whose value differs between two ini_values() maps.
std::vector<std::string> changed_keys(const std::map<std::string, std::string>& a,
                                      const std::map<std::string, std::string>& b) {
  std::vector<std::string> out;
  for (const auto& [key, value] : a) {
    const auto it = b.find(key);
    if (it == b.end() || it->second != value) out.push_back(key);
  }
  for (const auto& [key, value] : b)
    if (!a.count(key)) out.push_back(key);
  return out;
}

bool overridable(const std::string& key) {
  for (const auto& k : resume_overridable_keys())
    if (k == key) return true;
  return false;
}

// Throws unless `dir` holds a run with its resolved.ini.
void require_run_directory(const fs::path& dir) {
  std::error_code ec;
  const std::string d = dir.string();
  if (!fs::is_directory(dir, ec)) throw run_dir_error(fmt::format("{}: no such run directory", d));
  if (fs::exists(dir / "resolved.ini", ec)) return;
  // A run that failed before its config was written (a full disk) has only its status.
  const auto st = fs::exists(dir / "status", ec) ? read_run_state(dir) : std::nullopt;
  if (st && st->epochs_done == 0 && !fs::exists(dir / "model.h5", ec))
    throw run_dir_error(fmt::format("{}: the run stopped before its config was written ({}); there is nothing "
                                    "to resume: remove the directory and start the run again",
                                    d, st->message.empty() ? std::string(to_string(st->status)) : st->message));
  throw run_dir_error(fmt::format("{}: not a run directory (no resolved.ini)", d));
}

// The epochs model.h5 holds, after checking it was trained with resolved.ini
// (`base_values`); 0 without a model.h5.
int checkpoint_epochs(const fs::path& dir, const std::map<std::string, std::string>& base_values,
                      const std::optional<run_state>& state) {
  std::error_code ec;
  const std::string d = dir.string();
  const fs::path model = dir / "model.h5";
  if (!fs::exists(model, ec)) {
    if (state && state->epochs_done > 0)
      throw run_dir_error(fmt::format(
          "{}: status says {} epochs are finished, but there is no model.h5 to resume from", d, state->epochs_done));
    return 0;
  }
  const checkpoint_info info = read_checkpoint_info(model);
  // resolved.ini and the checkpoint must describe the same run.
  const auto stored = ini_values(info.config);
  for (const auto& key : changed_keys(stored, base_values))
    if (!overridable(key)) {
      const auto a = stored.find(key), b = base_values.find(key);
      throw run_dir_error(fmt::format(
          "{}: resolved.ini and model.h5 disagree on {} ('{}' vs '{}'); was resolved.ini edited? The "
          "checkpoint holds the config it was trained with",
          d, key, printable(b == base_values.end() ? "" : b->second), printable(a == stored.end() ? "" : a->second)));
    }
  return info.next_epoch;
}

}  // namespace

const std::vector<std::string>& resume_overridable_keys() {
  static const std::vector<std::string> keys{"train.epochs", "data.dir", "run.threads"};
  return keys;
}

resume_plan plan_resume(const fs::path& dir, const std::vector<std::string>& overrides) {
  require_run_directory(dir);
  const std::string d = dir.string();
  const std::string ini = (dir / "resolved.ini").string();
  resume_plan plan;
  const experiment_config base = load_config(ini, {});
  plan.cfg = load_config(ini, overrides);
  const auto base_values = ini_values(to_ini(base));
  plan.changed = changed_keys(base_values, ini_values(to_ini(plan.cfg)));
  for (const auto& key : plan.changed)
    if (!overridable(key))
      throw config_error(fmt::format(
          "command line: {} cannot change on --resume (only {}, {} and {} can): it would be another run; "
          "start a new one instead",
          key, resume_overridable_keys()[0], resume_overridable_keys()[1], resume_overridable_keys()[2]));

  plan.lock.emplace(run_lock::acquire(dir));
  const auto state = read_run_state(dir);
  std::error_code ec;
  plan.from_checkpoint = fs::exists(dir / "model.h5", ec);
  const int done = checkpoint_epochs(dir, base_values, state);
  if (state && state->status == run_status::done && plan.cfg.train.epochs <= done)
    throw run_dir_error(fmt::format(
        "{}: the run is already done ({} of {} epochs); to train it longer raise the epoch count: "
        "sae-train --resume {} --train.epochs=N",
        d, done, state->epochs, d));
  if (plan.cfg.train.epochs < done)
    throw config_error(fmt::format("train.epochs = {} is below the {} epochs {} has finished already",
                                   plan.cfg.train.epochs, done, d));
  // The log continues where the checkpoint does: rows past it are cut.
  plan.continue_log = done > 0;
  if (plan.continue_log && !fs::exists(dir / "run.h5", ec))
    throw run_dir_error(fmt::format("{}: missing, so the log cannot continue after epoch {}; restore it, or start "
                                    "a new run",
                                    (dir / "run.h5").string(), done));
  plan.epochs_done = done;
  plan.cfg.run.out = d;
  return plan;
}

}  // namespace saelab
