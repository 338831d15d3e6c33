#include "experiment/runner.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "config/printable.hpp"
#include "data/idx.hpp"
#include "experiment/checkpoint.hpp"
#include "experiment/model.hpp"
#include "experiment/progress.hpp"
#include "experiment/session.hpp"
#include "log/h5.hpp"
#include "log/run_log.hpp"
#include "report/atomic_write.hpp"
#include "report/figures.hpp"
#include "report/quote.hpp"
#include "tensor/blas.hpp"

namespace saelab {

namespace fs = std::filesystem;

namespace {

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// The config as recorded in resolved.ini and model.h5: run.out emptied.
experiment_config recorded(experiment_config cfg) {
  cfg.run.out.clear();
  return cfg;
}

// ---- observers ----

struct csv_row {
  int epoch = 0;  // 1-based
  double loss = 0, reconstruction = 0, test_bce = 0;
};

// Epoch table as CSV, rewritten whole (atomically) each epoch: it is small.
class csv_log final : public training_observer {
 public:
  static constexpr const char* header =
      "epoch,loss,reconstruction,penalty,test_bce,test_bce_first1200,test_mse,train_seconds\n";

  // Starts a new table, or (keep > 0, a resume) keeps the rows of epochs
  // 1..keep of the existing one and drops any later row.
  csv_log(fs::path path, int keep) : path_(std::move(path)), text_(header) {
    if (keep == 0) return;
    std::ifstream in(path_);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      csv_row r;
      if (std::sscanf(line.c_str(), "%d,%lf,%lf,%*f,%lf", &r.epoch, &r.loss, &r.reconstruction, &r.test_bce) != 4)
        continue;
      if (r.epoch != static_cast<int>(rows_.size()) + 1 || r.epoch > keep) break;
      rows_.push_back(r);
      text_ += line + "\n";
    }
    if (static_cast<int>(rows_.size()) != keep)
      fmt::print(stderr, "sae-train: warning: {} holds rows for {} of the {} finished epochs\n", path_.string(),
                 rows_.size(), keep);
  }
  void on_step(const step_record&) override {}
  void on_epoch(const epoch_record& e) override {
    text_ += fmt::format("{},{:.8g},{:.8g},{:.8g},{:.8g},{:.8g},{:.8g},{:.3f}\n", e.epoch + 1, e.loss,
                         e.reconstruction, e.penalty, e.test.bce, e.test.bce_reference, e.test.mse, e.train_seconds);
    rows_.push_back({e.epoch + 1, e.loss, e.reconstruction, e.test.bce});
    write_file_atomically(path_, text_);
  }
  const std::vector<csv_row>& rows() const { return rows_; }

 private:
  fs::path path_;
  std::string text_;
  std::vector<csv_row> rows_;
};

// Prints one line per epoch on stdout.
class epoch_printer final : public training_observer {
 public:
  epoch_printer(int epochs, const network<float>& net) : epochs_(epochs), net_(net) {}
  void on_step(const step_record&) override {}
  void on_epoch(const epoch_record& e) override {
    fmt::print("epoch {:>3}/{}  train {:.5f} = bce {:.5f} + penalty {:.5f}  test bce {:.5f} (first 1200: {:.5f}) "
               "mse {:.5f}  {:.1f} s\n",
               e.epoch + 1, epochs_, e.loss, e.reconstruction, e.penalty, e.test.bce, e.test.bce_reference,
               e.test.mse, e.train_seconds);
    // Test-set activity per site: active units per input, and never-active units.
    std::string sites;
    for (std::size_t s = 0; s < e.test.activity.size(); ++s) {
      const auto& a = e.test.activity[s];
      sites += fmt::format("  {} L0 {:.1f}/{} dead {:.1f}%", net_.sites()[s].name, a.l0, a.rho_hat.size(),
                           100 * a.dead_fraction);
    }
    if (!sites.empty()) fmt::print("         {}\n", sites.substr(2));
    std::fflush(stdout);
  }

 private:
  int epochs_;
  const network<float>& net_;
};

// Saves model.h5 at every epoch end, then records the epoch in DIR/status.
// It must come after every log observer (see runner.hpp: the checkpoint is
// the truth about finished epochs).
class checkpointer final : public training_observer {
 public:
  checkpointer(const fs::path& dir, const experiment_config& cfg, network<float>& net, optimizer<float>& opt,
               rng& r, int epochs_done)
      : dir_(dir), cfg_(cfg), config_text_(to_ini(recorded(cfg))), net_(net), opt_(opt), r_(r),
        epochs_done_(epochs_done) {}

  void on_step(const step_record&) override { ++steps_since_; }
  void on_epoch(const epoch_record& e) override {
    save_checkpoint(dir_ / "model.h5", net_, opt_, r_, {config_text_, cfg_.optim.kind, e.epoch + 1});
    epochs_done_ = e.epoch + 1;
    steps_since_ = 0;
    last_ = e;
    write_run_state(dir_, {run_status::run_status_running, epochs_done_, cfg_.train.epochs, "", 0, "", ""});
  }
  int epochs_done() const { return epochs_done_; }
  // Steps taken since the last checkpoint: work a stop throws away.
  std::int64_t steps_since() const { return steps_since_; }
  const std::optional<epoch_record>& last() const { return last_; }

 private:
  fs::path dir_;
  const experiment_config& cfg_;
  std::string config_text_;
  network<float>& net_;
  optimizer<float>& opt_;
  rng& r_;
  int epochs_done_;
  std::int64_t steps_since_ = 0;
  std::optional<epoch_record> last_;
};

class fan_out final : public training_observer {
 public:
  explicit fan_out(std::vector<training_observer*> all) {
    for (auto* o : all)
      if (o != nullptr) all_.push_back(o);
  }
  void on_step(const step_record& s) override {
    for (auto* o : all_) o->on_step(s);
  }
  void on_epoch(const epoch_record& e) override {
    for (auto* o : all_) o->on_epoch(e);
  }

 private:
  std::vector<training_observer*> all_;
};

// ---- figures ----

// One figure's failure (e.g. a full disk) costs that figure, not the run:
// the model is trained and saved, and sae-eval redraws the reconstructions.
template <class F>
void try_figure(const char* what, std::string& failures, F draw) {
  try {
    draw();
  } catch (const std::exception& e) {
    fmt::print(stderr, "sae-train: warning: {} figure not written: {}\n", what, e.what());
    failures += fmt::format("{}{} figure not written", failures.empty() ? "" : "; ", what);
  }
}

// Encoder filters: the first layer with parameters. An fc encoder row is one
// input-sized image (first 100 units); conv kernels are k x k tiles.
void write_filter_figure(const fs::path& fig, const network<float>& net) {
  for (int i = 0; i < net.size(); ++i) {
    const std::int64_t count = net.at(i).param_count();
    if (count == 0) continue;
    const std::string d = net.at(i).describe();
    const std::string kind = d.substr(0, d.find('('));
    const shape& in = net.activation_shape(i);
    const shape& out = net.activation_shape(i + 1);
    const float* w = net.params().data() + net.param_offset(i);
    if (kind == "linear" && in.rank() == 3) {
      const auto units = static_cast<int>(std::min<std::int64_t>(out.numel(), 100));
      filter_figure(fig, {w, static_cast<std::size_t>(out.numel() * in.numel())}, units, static_cast<int>(in[1]),
                    static_cast<int>(in[2]));
    } else if (kind == "conv2d") {
      const std::int64_t co = out[0], ci = in[0];
      const auto k = static_cast<int>(std::lround(std::sqrt(static_cast<double>((count - co) / (co * ci)))));
      filter_figure(fig, {w, static_cast<std::size_t>(count - co)}, static_cast<int>(co * ci), k, k);
    }
    return;
  }
}

// Writes every end-of-run figure into fig; returns what failed ("" if nothing).
std::string write_figures(const fs::path& fig, network<float>& net, const mnist_data& data,
                          const std::vector<csv_row>& rows, const test_record& last) {
  std::string failures;
  try_figure("reconstruction", failures, [&] { write_reconstruction_figure(fig, net, data.test.images); });
  try_figure("filter", failures, [&] { write_filter_figure(fig, net); });
  try_figure("loss curve", failures, [&] {
    std::vector<epoch_losses> curve;
    for (const csv_row& r : rows) curve.push_back({r.epoch, r.loss, r.reconstruction, r.test_bce});
    loss_curves(fig, curve);
  });
  try_figure("rho_hat histogram", failures, [&] {
    for (std::size_t s = 0; s < last.activity.size() && s < net.sites().size(); ++s)
      rho_hat_histogram(fig, net.sites()[s].name, last.activity[s].rho_hat);
  });
  return failures;
}

// std::bad_alloc says nothing about what ran out; name the phase instead.
template <class F>
auto out_of_memory_while(const std::string& phase, F f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    throw std::runtime_error(fmt::format("out of memory while {}", phase));
  }
}

std::unique_ptr<training_session> start_session(const experiment_config& cfg) {
  return out_of_memory_while(
      fmt::format("loading the data and building the model (model.hidden = {}, train.batch_size = {})",
                  cfg.model.hidden, cfg.train.batch_size),
      [&] { return std::make_unique<training_session>(cfg); });
}

// ---- the shared part of a new and a resumed run ----

struct run_context {
  const experiment_config& cfg;  // run.out == dir
  fs::path dir;
  const mnist_data& data;
  network<float>& net;
  rng& r;
  trainer& t;
  run_log& log;  // created or reopened at t.next_epoch()
};

run_log_info log_info() {
  run_log_info info;
  info.program_version = program_version();
  info.git_revision = git_revision();
  return info;
}

// Records a failure in DIR/status and in run.h5 (when open); never throws:
// the original error matters more than a status we cannot write.
void record_failure(const fs::path& dir, run_log* log, int epochs_done, int epochs, const std::string& message) {
  try {
    write_run_state(dir, {run_status::run_status_failed, epochs_done, epochs, message, 0, "", ""});
  } catch (const std::exception&) {
  }
  try {
    if (log != nullptr) log->set_status(log_status::log_status_failed);
  } catch (const std::exception&) {
  }
}

run_status train_and_record(const run_context& c, const run_options& opt) {
  const int first = c.t.next_epoch();
  const std::int64_t images = c.data.train.images.size(0);
  if (first == 0)
    fmt::print("saelab: {} -> {}\n", c.cfg.run.name, c.dir.string());
  else
    fmt::print("saelab: resuming {} in {} at epoch {} of {}\n", c.cfg.run.name, c.dir.string(), first + 1,
               c.cfg.train.epochs);
  fmt::print("{}objective: {}; optimiser: {}; {} train / {} test images, batch {}, {} threads\n", c.net.summary(),
             c.t.objective_terms().describe(), c.t.optim().describe(), images, c.data.test.images.size(0),
             c.cfg.train.batch_size, c.cfg.run.threads);
  std::fflush(stdout);

  progress bar(c.cfg.train.epochs, images, opt.quiet);
  csv_log csv(c.dir / "epochs.csv", first);
  epoch_printer printer(c.cfg.train.epochs, c.net);
  checkpointer ckpt(c.dir, c.cfg, c.net, c.t.optim(), c.r, first);
  // The logs before the checkpoint: see runner.hpp.
  fan_out observers({&bar, &csv, &c.log, &printer, &ckpt, opt.observer});

  std::string figure_failures;
  try {
    out_of_memory_while(fmt::format("training after epoch {}", ckpt.epochs_done()),
                        [&] { c.t.run(observers, opt.stop); });
    if (c.t.stopped()) {
      const std::string message =
          ckpt.steps_since() > 0
              ? fmt::format("stopped during epoch {}; its {} finished steps are redone on resume", ckpt.epochs_done() + 1,
                            ckpt.steps_since())
              : fmt::format("stopped after epoch {}", ckpt.epochs_done());
      write_run_state(c.dir,
                      {run_status::run_status_interrupted, ckpt.epochs_done(), c.cfg.train.epochs, message, 0, "", ""});
      c.log.set_status(log_status::log_status_interrupted);
      c.log.close();
      return run_status::run_status_interrupted;
    }
    const test_record last = ckpt.last() ? ckpt.last()->test : c.t.test();
    figure_failures = write_figures(c.dir / "figures", c.net, c.data, csv.rows(), last);
    c.log.set_status(log_status::log_status_done);
    c.log.close();
    write_run_state(c.dir,
                    {run_status::run_status_done, ckpt.epochs_done(), c.cfg.train.epochs, figure_failures, 0, "", ""});
  } catch (const std::exception& e) {
    record_failure(c.dir, &c.log, ckpt.epochs_done(), c.cfg.train.epochs, e.what());
    throw;
  } catch (...) {
    record_failure(c.dir, &c.log, ckpt.epochs_done(), c.cfg.train.epochs, "unknown exception");
    throw;
  }
  return run_status::run_status_done;
}

// What `h5clear -s --increment=0 FILE` does, for a run.h5 whose SWMR writer
// was killed: clear the superblock's "open for writing" flags and set the
// end-of-allocation to the file's real end (plain -s can truncate the file).
// Only safe when no writer is alive, which the run lock proves.
void clear_killed_writer_flags(const fs::path& path) {
  h5::handle fapl(H5Pcreate(H5P_FILE_ACCESS));
  hbool_t clear = 1;
  // "clear_status_flags" is the file-access property h5clear sets (HDF5 1.10).
  if (!fapl || H5Pset(fapl.get(), "clear_status_flags", &clear) < 0)
    throw std::runtime_error(fmt::format("{}: cannot prepare to clear its SWMR flags: {}", path.string(),
                                         h5::detail::take_reason()));
  h5::handle f(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()));
  if (!f || H5Fincrement_filesize(f.get(), 0) < 0 || f.reset() < 0)
    throw std::runtime_error(fmt::format("{}: cannot clear its SWMR flags: {}; try: h5clear -s --increment=0 {}",
                                         path.string(), h5::detail::take_reason(), path.string()));
}

// A write that failed for lack of space leaves run.h5 shorter than the end
// its superblock records ("truncated file: eof = N, ..., stored_eof = M").
// Every epoch up to the checkpoint was flushed before that checkpoint, so the
// missing tail holds only rows that reopen cuts anyway: extend the file to M
// with zeros (HDF5's metadata is checksummed in this format, so if the tail
// held metadata still needed the reopen fails instead of reading zeros).
// False if `reason` is not that error or M is implausible.
bool extend_truncated_log(const fs::path& path, const std::string& reason) {
  const std::string key = "stored_eof = ";
  const auto at = reason.find(key);
  if (reason.find("truncated file") == std::string::npos || at == std::string::npos) return false;
  const std::uintmax_t stored = std::strtoull(reason.c_str() + at + key.size(), nullptr, 10);
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  constexpr std::uintmax_t max_missing = std::uintmax_t{1} << 30;  // more is not a short write
  if (ec || stored <= size || stored - size > max_missing) return false;
  fs::resize_file(path, stored, ec);
  return !ec;
}

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

}  // namespace

fs::path write_reconstruction_figure(const fs::path& dir, network<float>& net, const tensor<float>& test_images) {
  const std::int64_t n = std::min<std::int64_t>(10, test_images.size(0));
  const tensor<float> x = test_images.slice(0, n).clone();  // [n, 1, 28, 28]
  const tensor<float>& logits = net.forward(x);              // [n, output...]
  if (logits.numel() != x.numel())
    throw std::invalid_argument(fmt::format("reconstruction figure: the model's output {} is not image-sized {}",
                                            logits.dims().str(), x.dims().str()));
  tensor<float> y(x.dims());
  for (std::int64_t i = 0; i < y.numel(); ++i) y[i] = 1.0f / (1.0f + std::exp(-logits[i]));
  return reconstruction_figure(dir, x, y);
}

const std::vector<std::string>& resume_overridable_keys() {
  static const std::vector<std::string> keys{"train.epochs", "data.dir", "run.threads"};
  return keys;
}

std::string run_directory(const experiment_config& cfg) {
  if (!cfg.run.out.empty()) return cfg.run.out;
  return fmt::format("experiments/runs/{}-{:08x}", cfg.run.name.empty() ? "run" : cfg.run.name,
                     fnv1a(to_ini(recorded(cfg))) & 0xffffffffull);
}

std::string resolved_ini(const experiment_config& cfg, const fs::path& dir) {
  return fmt::format(
      "# Resolved config of the run in {dir} (sae-train {version}).\n"
      "#   sae-train {dir}/resolved.ini                 runs this config again. run.out is empty on\n"
      "#       purpose: the rerun goes to the config's default directory\n"
      "#       experiments/runs/<run.name>-<hash of this config>, never back into {dir}; if that is\n"
      "#       where this run is, the rerun is refused there: add --run.out=NEWDIR.\n"
      "#   sae-train --resume {dir} [--train.epochs=N]  continues or extends this run instead.\n",
      fmt::arg("dir", one_line(dir.string())), fmt::arg("version", program_version())) +
         to_ini(recorded(cfg));
}

run_status run_experiment(const experiment_config& cfg_in, const run_options& opt) {
  experiment_config cfg = cfg_in;
  const bool default_location = cfg.run.out.empty();
  const fs::path dir = run_directory(cfg);
  cfg.run.out = dir.string();
  // Everything that can fail on bad input fails before the directory exists.
  check_new_run_directory(dir, default_location);
  blas::set_threads(cfg.run.threads);
  const auto session = start_session(cfg);
  training_session& s = *session;

  create_run_directory(dir);
  auto lock = run_lock::acquire(dir);
  check_new_run_directory(dir, default_location);  // again under the lock: another process may have won
  write_run_state(dir, {run_status::run_status_running, 0, cfg.train.epochs, "", 0, "", ""});
  std::optional<run_log> log;
  try {
    write_file_atomically(dir / "resolved.ini", resolved_ini(cfg, dir));
    log.emplace(dir / "run.h5", cfg, to_ini(recorded(cfg)), *s.net, s.data.test.images, s.t.objective_terms(),
                log_info());
  } catch (const std::exception& e) {
    record_failure(dir, nullptr, 0, cfg.train.epochs, e.what());
    throw;
  }
  return train_and_record({cfg, dir, s.data, *s.net, s.r, s.t, *log}, opt);
}

run_status resume_experiment(const fs::path& dir, const std::vector<std::string>& overrides, const run_options& opt) {
  std::error_code ec;
  const std::string d = dir.string();
  if (!fs::is_directory(dir, ec)) throw run_dir_error(fmt::format("{}: no such run directory", d));
  const fs::path ini = dir / "resolved.ini";
  if (!fs::exists(ini, ec)) {
    // A run that failed before its config was written (a full disk) has only its status.
    const auto st = fs::exists(dir / "status", ec) ? read_run_state(dir) : std::nullopt;
    if (st && st->epochs_done == 0 && !fs::exists(dir / "model.h5", ec))
      throw run_dir_error(fmt::format("{}: the run stopped before its config was written ({}); there is nothing "
                                      "to resume: remove the directory and start the run again",
                                      d, st->message.empty() ? std::string(to_string(st->status)) : st->message));
    throw run_dir_error(fmt::format("{}: not a run directory (no resolved.ini)", d));
  }

  const experiment_config base = load_config(ini.string(), {});
  experiment_config cfg = load_config(ini.string(), overrides);
  const auto base_values = ini_values(to_ini(base));
  for (const auto& key : changed_keys(base_values, ini_values(to_ini(cfg))))
    if (!overridable(key))
      throw config_error(fmt::format(
          "command line: {} cannot change on --resume (only {}, {} and {} can): it would be another run; "
          "start a new one instead",
          key, resume_overridable_keys()[0], resume_overridable_keys()[1], resume_overridable_keys()[2]));

  auto lock = run_lock::acquire(dir);
  const auto state = read_run_state(dir);
  const fs::path model = dir / "model.h5";
  int done = 0;
  if (fs::exists(model, ec)) {
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
    done = info.next_epoch;
  } else if (state && state->epochs_done > 0) {
    throw run_dir_error(fmt::format("{}: status says {} epochs are finished, but there is no model.h5 to resume from",
                                    d, state->epochs_done));
  }
  if (state && state->status == run_status::run_status_done && cfg.train.epochs <= done)
    throw run_dir_error(fmt::format(
        "{}: the run is already done ({} of {} epochs); to train it longer raise the epoch count: "
        "sae-train --resume {} --train.epochs=N",
        d, done, state->epochs, d));
  if (cfg.train.epochs < done)
    throw config_error(fmt::format("train.epochs = {} is below the {} epochs {} has finished already",
                                   cfg.train.epochs, done, d));

  cfg.run.out = d;
  blas::set_threads(cfg.run.threads);
  const auto session = start_session(cfg);  // a run without a checkpoint yet starts over from its seed
  training_session& s = *session;
  if (fs::exists(model, ec)) {
    const checkpoint_info info = load_checkpoint(model, *s.net, &s.t.optim(), &s.r);
    s.t.set_next_epoch(info.next_epoch);
  }

  // The log continues where the checkpoint does: rows past it are cut.
  const fs::path log_path = dir / "run.h5";
  std::optional<run_log> log;
  if (done == 0) {
    log.emplace(log_path, cfg, to_ini(recorded(cfg)), *s.net, s.data.test.images, s.t.objective_terms(), log_info());
  } else if (!fs::exists(log_path, ec)) {
    throw run_dir_error(fmt::format("{}: missing, so the log cannot continue after epoch {}; restore it, or start "
                                    "a new run",
                                    log_path.string(), done));
  } else {
    const auto reopen = [&] {
      return run_log::reopen(log_path, cfg, *s.net, s.data.test.images, s.t.objective_terms(), log_info(),
                             {done, s.t.optim().steps()});
    };
    // A writer killed mid-run leaves the file marked open for writing; one
    // that failed on a full disk may also leave it short. We hold the run
    // lock, so that writer is dead: repair each once and retry.
    bool cleared = false, extended = false;
    while (!log) {
      try {
        log.emplace(reopen());
      } catch (const h5::error& e) {
        const std::string what = e.what();
        if (!extended && extend_truncated_log(log_path, what)) {
          extended = true;
          fmt::print(stderr, "sae-train: {}: its writer had run out of space; extended it to the length it "
                             "records\n", log_path.string());
          continue;
        }
        if (cleared || what.find("h5clear") == std::string::npos) throw;
        cleared = true;
        clear_killed_writer_flags(log_path);
        fmt::print(stderr, "sae-train: {}: its writer had been killed; cleared its SWMR flags as "
                           "h5clear -s --increment=0 does\n", log_path.string());
      }
    }
  }

  // From here on the directory is written.
  try {
    if (!(recorded(cfg) == recorded(base))) write_file_atomically(ini, resolved_ini(cfg, dir));
    write_run_state(dir, {run_status::run_status_running, done, cfg.train.epochs,
                          done > 0 ? fmt::format("resumed after epoch {}", done) : "", 0, "", ""});
  } catch (const std::exception& e) {
    record_failure(dir, &*log, done, cfg.train.epochs, e.what());
    throw;
  }
  return train_and_record({cfg, dir, s.data, *s.net, s.r, s.t, *log}, opt);
}

}  // namespace saelab
