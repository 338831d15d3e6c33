#include "experiment/progress.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace saelab {

std::string format_duration(double seconds) {
  const auto s = static_cast<std::int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

progress::progress(int epochs, std::int64_t images_per_epoch, bool quiet)
    : epochs_(epochs), images_per_epoch_(images_per_epoch), quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {
  epoch_start_ = last_draw_ = std::chrono::steady_clock::now();
}

void progress::on_step(const step_record& s) {
  if (s.batch == 0) {
    epoch_start_ = std::chrono::steady_clock::now();
    running_loss_ = s.loss;
  }
  // An exponential moving average reads steadier than the raw batch loss.
  running_loss_ = 0.9 * running_loss_ + 0.1 * s.loss;
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  // Redraw a terminal a few times a second; log plain lines every 15 s.
  if (since_draw < (tty_ ? 0.2 : 15.0) && s.batch + 1 != s.batches) return;
  last_draw_ = now;
  draw(s);
}

void progress::draw(const step_record& s) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
  const double done = static_cast<double>(s.batch + 1) / static_cast<double>(s.batches);
  const double rate = elapsed > 0 ? done * static_cast<double>(images_per_epoch_) / elapsed : 0;
  const double eta = done > 0 ? elapsed / done - elapsed : 0;
  constexpr int width = 24;
  const int filled = static_cast<int>(done * width);
  const std::string bar = std::string(static_cast<std::size_t>(filled), '#') +
                          std::string(static_cast<std::size_t>(width - filled), '.');
  const std::string line =
      fmt::format("epoch {}/{} [{}] {}/{} {:.0f} img/s eta {} loss {:.5f}", s.epoch + 1, epochs_, bar, s.batch + 1,
                  s.batches, rate, format_duration(eta), running_loss_);
  if (tty_) {
    fmt::print(stderr, "\r{}\x1b[K", line);
    line_open_ = true;
  } else {
    fmt::print(stderr, "{}\n", line);
  }
  std::fflush(stderr);
}

void progress::on_epoch(const epoch_record&) {
  if (line_open_) {
    fmt::print(stderr, "\r\x1b[K");
    std::fflush(stderr);
    line_open_ = false;
  }
}

}  // namespace saelab
