#include "experiment/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

namespace saelab {

namespace {

// Columns of the terminal on stderr, or 0 when unknown.
int terminal_columns() {
  winsize w{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return w.ws_col;
  return 0;
}

}  // namespace

std::string format_duration(double seconds) {
  const auto s = static_cast<std::int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string fit_to_width(const std::string& line, int columns) {
  if (columns <= 0 || static_cast<int>(line.size()) < columns) return line;
  return line.substr(0, static_cast<std::size_t>(columns - 1));
}

std::string wrap_items(const std::vector<std::string>& items, std::size_t indent, std::size_t width) {
  std::string out, line;
  for (const std::string& item : items) {
    if (!line.empty() && indent + line.size() + 2 + item.size() > width) {
      out += std::string(indent, ' ') + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : "  ") + item;
  }
  if (!line.empty()) out += std::string(indent, ' ') + line + "\n";
  return out;
}

progress::progress(int epochs, std::int64_t images_per_epoch, bool quiet)
    : epochs_(epochs), images_per_epoch_(images_per_epoch), quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {
  epoch_start_ = last_draw_ = std::chrono::steady_clock::now();
}

progress::~progress() { clear_line(); }

void progress::clear_line() {
  if (!line_open_) return;
  fmt::print(stderr, "\r\x1b[K");
  std::fflush(stderr);
  line_open_ = false;
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
  // Redraw a terminal a few times a second; log plain lines every 15 s. The
  // last batch is always drawn: the test pass that follows can take seconds.
  if (since_draw < (tty_ ? 0.2 : 15.0) && s.batch + 1 != s.batches) return;
  last_draw_ = now;
  draw(s);
}

void progress::draw(const step_record& s) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
  const double done = static_cast<double>(s.batch + 1) / static_cast<double>(s.batches);
  constexpr int width = 20;
  const int filled = static_cast<int>(done * width);
  const std::string bar = std::string(static_cast<std::size_t>(filled), '#') +
                          std::string(static_cast<std::size_t>(width - filled), '.');
  // The epoch clock starts when its first step has finished, so the rate
  // counts the steps after it; before a second step there is no rate yet.
  const std::string rate = s.batch > 0 && elapsed > 0
                               ? fmt::format("{:.0f} img/s", static_cast<double>(s.batch) / s.batches *
                                                                 static_cast<double>(images_per_epoch_) / elapsed)
                               : std::string("- img/s");
  const std::string tail = s.batch + 1 == s.batches
                               ? std::string("testing...")
                               : s.batch > 0 ? fmt::format("eta {}", format_duration(elapsed / s.batch *
                                                                                      (s.batches - 1 - s.batch)))
                                             : std::string("eta -");
  const std::string line = fmt::format("epoch {}/{} [{}] {}/{} {} {} loss {:.5f}", s.epoch + 1, epochs_, bar,
                                       s.batch + 1, s.batches, rate, tail, running_loss_);
  if (tty_) {
    fmt::print(stderr, "\r{}\x1b[K", fit_to_width(line, terminal_columns()));
    line_open_ = true;
  } else {
    fmt::print(stderr, "{}\n", line);
  }
  std::fflush(stderr);
}

void progress::on_epoch(const epoch_record&) { clear_line(); }

}  // namespace saelab
