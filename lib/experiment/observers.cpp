#include "experiment/observers.hpp"

#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "experiment/checkpoint.hpp"
#include "experiment/progress.hpp"
#include "experiment/run_dir.hpp"
#include "report/atomic_write.hpp"

namespace saelab {

namespace fs = std::filesystem;

csv_log::csv_log(fs::path path, int keep) : path_(std::move(path)), text_(header) {
  if (keep == 0) return;
  std::ifstream in(path_);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    epoch_losses r;
    if (std::sscanf(line.c_str(), "%d,%lf,%lf,%*f,%lf", &r.epoch, &r.train_loss, &r.train_reconstruction,
                    &r.test_bce) != 4)
      continue;
    if (r.epoch != static_cast<int>(rows_.size()) + 1 || r.epoch > keep) break;
    rows_.push_back(r);
    text_ += line + "\n";
  }
  if (static_cast<int>(rows_.size()) != keep)
    fmt::print(stderr, "sae-train: warning: {} holds rows for {} of the {} finished epochs\n", path_.string(),
               rows_.size(), keep);
}

void csv_log::on_epoch(const epoch_record& e) {
  text_ += fmt::format("{},{:.8g},{:.8g},{:.8g},{:.8g},{:.8g},{:.8g},{:.3f}\n", e.epoch + 1, e.loss,
                       e.reconstruction, e.penalty, e.test.bce, e.test.bce_reference, e.test.mse, e.train_seconds);
  rows_.push_back({e.epoch + 1, e.loss, e.reconstruction, e.test.bce});
  write_file_atomically(path_, text_);
}

void epoch_printer::on_epoch(const epoch_record& e) {
  // Lines of at most 80 columns, so a log read in a narrow terminal or a
  // Slurm output file keeps one fact per line.
  fmt::print("epoch {:>3}/{}  train {:.5f} = bce {:.5f} + penalty {:.5f}  {:.1f} s\n", e.epoch + 1, epochs_, e.loss,
             e.reconstruction, e.penalty, e.train_seconds);
  std::vector<std::string> items{fmt::format("test bce {:.5f} (first 1200: {:.5f})", e.test.bce, e.test.bce_reference),
                                 fmt::format("mse {:.5f}", e.test.mse)};
  // Test-set activity per site: active units per input, and never-active units.
  for (std::size_t s = 0; s < e.test.activity.size(); ++s) {
    const auto& a = e.test.activity[s];
    items.push_back(fmt::format("{} L0 {:.1f}/{} dead {:.1f}%", net_.sites()[s].name, a.l0, a.rho_hat.size(),
                                100 * a.dead_fraction));
  }
  fmt::print("{}", wrap_items(items, 9, 80));
  std::fflush(stdout);
}

checkpointer::checkpointer(fs::path dir, const experiment_config& cfg, std::string config_text,
                           network<float>& net, optimizer<float>& opt, rng& r, int epochs_done)
    : dir_(std::move(dir)), cfg_(cfg), config_text_(std::move(config_text)), net_(net), opt_(opt), r_(r),
      epochs_done_(epochs_done) {}

void checkpointer::on_epoch(const epoch_record& e) {
  save_checkpoint(dir_ / "model.h5", net_, opt_, r_, {config_text_, cfg_.optim.kind, e.epoch + 1});
  epochs_done_ = e.epoch + 1;
  steps_since_ = 0;
  last_ = e;
  write_run_state(dir_, run_status::running, epochs_done_, cfg_.train.epochs);
}

fan_out::fan_out(std::vector<training_observer*> all) {
  for (auto* o : all)
    if (o != nullptr) all_.push_back(o);
}

void fan_out::on_step(const step_record& s) {
  for (auto* o : all_) o->on_step(s);
}

void fan_out::on_epoch(const epoch_record& e) {
  for (auto* o : all_) o->on_epoch(e);
}

}  // namespace saelab
