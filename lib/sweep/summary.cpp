#include "sweep/summary.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "data/idx.hpp"
#include "experiment/model.hpp"
#include "log/h5.hpp"
#include "log/h5_scales.hpp"
#include "report/atomic_write.hpp"
#include "sweep/executor.hpp"
#include "sweep/summary_columns.hpp"

namespace saelab {

namespace fs = std::filesystem;

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

constexpr const char* site_columns[] = {"units", "l0", "dead_fraction", "dense_fraction", "population_sparsity",
                                        "lifetime_sparsity", "mean_when_active", "rho_hat_median"};

std::string num(double v) { return std::isfinite(v) ? fmt::format("{:.7g}", v) : ""; }

std::vector<std::string> split_names(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = std::min(s.find(',', start), s.size());
    std::string item = s.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

template <class T>
std::vector<T> last_row(const h5::object& f, const std::string& path) {
  const h5::dataset ds = h5::open_dataset(f, path);
  const h5::extent d = h5::dims(ds);
  std::vector<T> all = h5::read<T>(ds);
  if (d.empty() || d[0] == 0) return {};
  const std::size_t row = all.size() / d[0];
  return std::vector<T>(all.end() - static_cast<std::ptrdiff_t>(row), all.end());
}

double last_value(const h5::object& f, const std::string& path) {
  const auto v = last_row<double>(f, path);
  return v.empty() ? nan : v.back();
}

// The hidden sites of the plan's models: every site in plan order with its
// unit count, and which sites each model (by its [model] section) has.
struct plan_site_table {
  std::vector<std::string> sites;
  std::map<std::string, std::vector<std::pair<std::string, std::int64_t>>> by_model;  // name, units

  static std::string model_key(const experiment_config& c) {
    experiment_config m;
    m.model = c.model;
    m.data = c.data;  // the input shape is the data's
    return to_ini(m);
  }
  // The site's units in c's model, or 0 when that model has no such site.
  std::int64_t units(const experiment_config& c, const std::string& site) const {
    for (const auto& [name, n] : by_model.at(model_key(c)))
      if (name == site) return n;
    return 0;
  }
};

plan_site_table plan_sites(const sweep_plan& plan, const fs::path& sweep_dir) {
  plan_site_table t;
  for (const plan_row& row : plan.rows) {
    const experiment_config c = planned_config(plan, row, sweep_dir);
    auto [it, fresh] = t.by_model.try_emplace(plan_site_table::model_key(c));
    if (!fresh) continue;
    const auto net = build_model<float>(c.model, mnist_sample_shape(c.data.dir));
    for (const auto& s : net->sites()) {
      it->second.emplace_back(s.name, net->activation_shape(s.activation).numel());
      if (std::find(t.sites.begin(), t.sites.end(), s.name) == t.sites.end()) t.sites.push_back(s.name);
    }
  }
  return t;
}

bool is_number(const std::string& s, double* out) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  if (out) *out = v;
  return true;
}

// An flock on a file, released when the object goes.
class file_lock {
 public:
  explicit file_lock(const fs::path& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644)) {  // never a planted link
    if (fd_ < 0) throw std::runtime_error(fmt::format("{}: cannot create the lock file", path.string()));
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~file_lock() { ::close(fd_); }
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;

 private:
  int fd_;
};

hid_t checked(hid_t id, const std::string& what) {
  if (id < 0) throw h5::error(fmt::format("{}: {}", what, h5::detail::take_reason()));
  return id;
}

h5::dataset write_string_column(const h5::object& parent, const std::string& name,
                                const std::vector<std::string>& cells, const std::string& where) {
  std::size_t width = 1;
  for (const auto& c : cells) width = std::max(width, c.size());
  h5::handle type = h5::detail::string_type(width);
  const hsize_t n = cells.size();
  h5::handle space(checked(H5Screate_simple(1, &n, nullptr), where));
  h5::dataset ds(checked(H5Dcreate2(parent.id(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT,
                                    H5P_DEFAULT),
                         where + ": create " + name));
  std::string buf(width * cells.size(), '\0');
  for (std::size_t i = 0; i < cells.size(); ++i) std::copy(cells[i].begin(), cells[i].end(), buf.begin() + i * width);
  if (n > 0 && H5Dwrite(ds.id(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0)
    throw h5::error(fmt::format("{}: write {}: {}", where, name, h5::detail::take_reason()));
  return ds;
}

// A group that lists its members in creation order (h5py and viewers then
// show the columns in summary order, not alphabetically).
h5::group create_ordered_group(const h5::object& parent, const std::string& name, const std::string& where) {
  h5::handle gcpl(checked(H5Pcreate(H5P_GROUP_CREATE), where));
  if (H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0)
    throw h5::error(fmt::format("{}: {}", where, h5::detail::take_reason()));
  return h5::group(checked(H5Gcreate2(parent.id(), name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT),
                           where + ": create " + name));
}

std::vector<std::string> read_string_column(hid_t ds, const std::string& where) {
  h5::handle type(checked(H5Dget_type(ds), where));
  h5::handle space(checked(H5Dget_space(ds), where));
  const auto n = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.get()));
  const std::size_t width = H5Tget_size(type.get());
  h5::handle mem = h5::detail::string_type(width);
  std::string buf(width * n, '\0');
  if (n > 0 && H5Dread(ds, mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0)
    throw h5::error(fmt::format("{}: read: {}", where, h5::detail::take_reason()));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::string s = buf.substr(i * width, width);
    s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
    out.push_back(s);
  }
  return out;
}

}  // namespace

std::optional<run_metrics> read_run_metrics(const fs::path& run_h5, std::string* why) {
  std::error_code ec;
  if (!fs::exists(run_h5, ec)) {
    if (why) *why = "no run.h5";
    return std::nullopt;
  }
  try {
    const h5::file f = h5::file::open_read(run_h5);
    run_metrics m;
    m.epochs = static_cast<int>(h5::dims(h5::open_dataset(f, "/epochs/epoch"))[0]);
    if (m.epochs == 0) {
      if (why) *why = "no finished epoch";
      return std::nullopt;
    }
    m.seconds = last_value(f, "/epochs/wall_time");
    m.test_bce = last_value(f, "/epochs/test_bce");
    m.test_mse = last_value(f, "/epochs/test_mse");
    for (const std::string& name : split_names(h5::read_attr_string(h5::open_group(f, "/sites"), "names"))) {
      const std::string g = "/sites/" + name;
      site_metrics s;
      s.name = name;
      s.l0 = last_value(f, g + "/l0");
      s.dead_fraction = last_value(f, g + "/dead_fraction");
      s.dense_fraction = last_value(f, g + "/dense_fraction");
      s.population_sparsity = last_value(f, g + "/population_sparsity");
      const auto rho_hat = last_row<double>(f, g + "/rho_hat");
      const auto dead = last_row<std::uint8_t>(f, g + "/dead");
      const auto lifetime = last_row<double>(f, g + "/lifetime_sparsity");
      const auto when_active = last_row<double>(f, g + "/mean_when_active");
      s.units = static_cast<std::int64_t>(rho_hat.size());
      double life_sum = 0, active_sum = 0;
      std::size_t live = 0;
      for (std::size_t j = 0; j < rho_hat.size() && j < dead.size(); ++j) {
        if (dead[j]) continue;
        ++live;
        life_sum += lifetime[j];
        active_sum += when_active[j];
      }
      s.lifetime_sparsity = live ? life_sum / static_cast<double>(live) : nan;
      s.mean_when_active = live ? active_sum / static_cast<double>(live) : nan;
      std::vector<double> sorted = rho_hat;
      std::sort(sorted.begin(), sorted.end());
      const std::size_t n = sorted.size();
      s.rho_hat_median = n == 0 ? nan : n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
      m.sites.push_back(std::move(s));
    }
    return m;
  } catch (const std::exception& e) {
    if (why) *why = e.what();
    return std::nullopt;
  }
}

std::optional<rho_hat_hist> read_rho_hat_histogram(const fs::path& run_h5, const std::string& site) {
  try {
    const h5::file f = h5::file::open_read(run_h5);
    const h5::dataset ds = h5::open_dataset(f, "/sites/" + site + "/rho_hat_histogram");
    rho_hat_hist h;
    h.counts = last_row<std::int64_t>(f, "/sites/" + site + "/rho_hat_histogram");
    h.edges_log10 = h5::read_attr_doubles(ds, "bin_edges_log10");
    if (h.counts.empty() || h.edges_log10.size() != h.counts.size() + 1) return std::nullopt;
    return h;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

namespace {

// The rows of the existing summary.csv that are done and whose run
// directories are absent (a committed study holds none), by run id, in
// `header`'s columns. Those results exist nowhere else: rebuilding the
// summary must not turn them into pending runs.
std::map<std::string, std::vector<std::string>> done_rows_of_absent_runs(const sweep_plan& plan,
                                                                       const fs::path& sweep_dir,
                                                                       const std::vector<std::string>& header) {
  std::map<std::string, std::vector<std::string>> kept;
  std::error_code ec;
  if (!fs::exists(sweep_dir / "summary.csv", ec)) return kept;
  const csv_table old = read_csv(sweep_dir / "summary.csv");
  if (!old.has("id") || !old.has("status")) return kept;
  std::map<std::string, const std::vector<std::string>*> by_id;
  for (const auto& r : old.rows)
    if (r[old.column("status")] == "done") by_id[r[old.column("id")]] = &r;
  for (const plan_row& row : plan.rows) {
    const auto it = by_id.find(row.id);
    if (it == by_id.end() || fs::exists(sweep_dir / row.run_dir, ec)) continue;
    std::vector<std::string> cells;
    for (const auto& h : header) cells.push_back(old.has(h) ? (*it->second)[old.column(h)] : "");
    kept.emplace(row.id, std::move(cells));
  }
  return kept;
}

}  // namespace

csv_table collect_summary(const sweep_plan& plan, const fs::path& sweep_dir) {
  csv_table t;
  t.header = {"index", "id", "label", "seed"};
  t.header.insert(t.header.end(), plan.keys.begin(), plan.keys.end());
  for (const char* c : {"kind", "weight", "rho", "status", "epochs", "seconds", "test_bce", "test_mse"})
    t.header.push_back(c);
  const plan_site_table table = plan_sites(plan, sweep_dir);
  const auto& sites = table.sites;
  for (const auto& site : sites)
    for (const char* c : site_columns) t.header.push_back(site + "." + c);
  t.header.push_back("run_dir");

  const std::map<std::string, std::vector<std::string>> kept = done_rows_of_absent_runs(plan, sweep_dir, t.header);
  for (const plan_row& row : plan.rows) {
    if (const auto it = kept.find(row.id); it != kept.end()) {
      t.rows.push_back(it->second);
      continue;
    }
    const experiment_config c = planned_config(plan, row, sweep_dir);
    std::vector<std::string> cells{std::to_string(row.index), row.id, row.label, std::to_string(row.seed)};
    cells.insert(cells.end(), row.values.begin(), row.values.end());
    const auto kind = c.sparsity.kind;
    const bool kl = kind == sparsity_kind::kl || kind == sparsity_kind::seed_kl;
    cells.push_back(std::string(to_string(kind)));
    cells.push_back(kl                                      ? num(c.sparsity.beta)
                    : kind == sparsity_kind::l1 ? num(c.sparsity.lambda)
                                                              : "0");
    cells.push_back(kl ? num(c.sparsity.rho) : "");

    const planned_run_state st = inspect_run(plan, row, sweep_dir);
    cells.push_back(std::string(to_string(st.status)));
    using S = planned_run_status;
    const bool readable = st.status != S::pending && st.status != S::running &&
                          st.status != S::broken && st.status != S::mismatch;
    const auto m = readable ? read_run_metrics(sweep_dir / row.run_dir / "run.h5") : std::nullopt;
    if (m) {
      cells.insert(cells.end(), {std::to_string(m->epochs), fmt::format("{:.1f}", m->seconds), num(m->test_bce),
                                 num(m->test_mse)});
    } else {
      cells.insert(cells.end(), {"", "", "", ""});
    }
    for (const auto& site : sites) {
      const site_metrics* s = nullptr;
      if (m)
        for (const auto& x : m->sites)
          if (x.name == site) s = &x;
      if (s == nullptr) {
        // The site's size is known from the model even before the run.
        const std::int64_t units = table.units(c, site);
        cells.push_back(units > 0 ? std::to_string(units) : "");
        cells.insert(cells.end(), std::size(site_columns) - 1, "");
        continue;
      }
      cells.insert(cells.end(), {std::to_string(s->units), num(s->l0), num(s->dead_fraction), num(s->dense_fraction),
                                 num(s->population_sparsity), num(s->lifetime_sparsity), num(s->mean_when_active),
                                 num(s->rho_hat_median)});
    }
    cells.push_back(row.run_dir);
    t.rows.push_back(std::move(cells));
  }
  return t;
}

namespace {

// Both files; the caller holds .summary.lock.
void write_summary_files(const sweep_plan& plan, const fs::path& sweep_dir, const csv_table& summary) {
  std::error_code ec;
  write_file_atomically(sweep_dir / "summary.csv", to_csv(summary));

  const fs::path final_path = sweep_dir / "sweep.h5";
  const fs::path tmp = temporary_path(final_path);
  try {
    {
      h5::file f = h5::file::create(tmp);
      const std::string where = final_path.string();
      h5::write_attr_string(f, "schema", "saelab.sweep");
      h5::write_attr_int(f, "schema_version", 1);
      h5::write_attr_string(f, "name", plan.spec.name);
      h5::write_attr_string(f, "base", plan.spec.base.string());
      h5::write_attr_string(f, "mode", to_string(plan.spec.mode));
      h5::write_attr_int(f, "seeds", plan.spec.seeds);
      h5::set_description(h5::write_string(f, "/sweep_file", plan.spec.text), "", "the sweep file's text");
      h5::group runs = create_ordered_group(f, "/runs", where);
      h5::write_attr_string(runs, "columns", fmt::format("{}", fmt::join(summary.header, ", ")));
      h5::write_attr_string(runs, "description",
                            "one dataset per summary.csv column, one element per run in plan order; numbers are "
                            "float64 with NaN for blank cells");
      h5::dataset run_axis;  // the first column, "index": every column's axis
      bool plottable = false;
      for (std::size_t c = 0; c < summary.header.size(); ++c) {
        std::vector<std::string> cells;
        for (const auto& r : summary.rows) cells.push_back(r[c]);
        std::vector<double> values;
        bool numeric = std::any_of(cells.begin(), cells.end(), [](const std::string& s) { return !s.empty(); });
        for (const auto& s : cells) {
          double v = nan;
          if (!s.empty() && !is_number(s, &v)) numeric = false;
          values.push_back(v);
        }
        const h5::dataset ds = numeric ? h5::write_array<double>(runs, summary.header[c], {values.size()}, values)
                                       : write_string_column(runs, summary.header[c], cells, where);
        const column_doc doc = describe_column(summary.header[c], plan.keys);
        h5::set_description(ds, doc.units, doc.description);
        h5::label_axes(ds, std::vector<std::string>{"run"});
        if (c == 0) {
          run_axis = h5::open_dataset(runs, summary.header[0]);
          h5::make_scale(run_axis, "run");
        } else {
          h5::attach_scale(ds, run_axis, 0);
        }
        if (summary.header[c] == "test_bce" && numeric) plottable = true;
      }
      if (plottable) {  // silx and h5web open test_bce against the run index
        h5::write_attr_string(runs, "NX_class", "NXdata");
        h5::write_attr_string(runs, "signal", "test_bce");
        h5::write_attr_string(runs, "axes", summary.header[0]);
        h5::write_attr_string(f, "default", "runs");
      }
      h5::group logs = h5::create_group(f, "/run_logs");
      h5::write_attr_string(logs, "description", "external links to the run.h5 of each run that had one when this file was written; /runs/run_dir names every run's directory");
      for (const plan_row& row : plan.rows) {
        if (!fs::exists(sweep_dir / row.run_dir / "run.h5", ec)) continue;
        const std::string target = row.run_dir + "/run.h5";
        if (H5Lcreate_external(target.c_str(), "/", logs.id(), row.id.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
          throw h5::error(fmt::format("{}: cannot link {}: {}", where, target, h5::detail::take_reason()));
      }
      run_axis = {};  // before f: see h5::file::close
      runs = {};
      logs = {};
      f.close();
    }
    fs::rename(tmp, final_path);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

}  // namespace

void write_summary(const sweep_plan& plan, const fs::path& sweep_dir, const csv_table& summary) {
  std::error_code ec;
  fs::create_directories(sweep_dir, ec);
  file_lock lock(sweep_dir / ".summary.lock");
  write_summary_files(plan, sweep_dir, summary);
}

csv_table update_summary(const sweep_plan& plan, const fs::path& sweep_dir) {
  std::error_code ec;
  fs::create_directories(sweep_dir, ec);
  // Looked at under the lock too: of two processes whose runs end together,
  // the one that writes last must also have looked last, or the summary keeps
  // the older look (a run done since shows as running).
  file_lock lock(sweep_dir / ".summary.lock");
  csv_table t = collect_summary(plan, sweep_dir);
  write_summary_files(plan, sweep_dir, t);
  return t;
}

csv_table read_sweep_h5_runs(const fs::path& sweep_h5) {
  const h5::file f = h5::file::open_read(sweep_h5);
  const h5::group runs = h5::open_group(f, "/runs");
  csv_table t;
  t.header = split_names(h5::read_attr_string(runs, "columns"));
  std::vector<std::vector<std::string>> columns;
  for (const auto& name : t.header) {
    const h5::dataset ds = h5::open_dataset(runs, name);
    h5::handle type(checked(H5Dget_type(ds.id()), name));
    if (H5Tget_class(type.get()) == H5T_STRING) {
      columns.push_back(read_string_column(ds.id(), ds.where()));
    } else {
      std::vector<std::string> cells;
      for (double v : h5::read<double>(ds)) cells.push_back(std::isfinite(v) ? fmt::format("{}", v) : "");
      columns.push_back(std::move(cells));
    }
  }
  const std::size_t n = columns.empty() ? 0 : columns[0].size();
  for (std::size_t r = 0; r < n; ++r) {
    std::vector<std::string> row;
    for (const auto& c : columns) row.push_back(c[r]);
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace saelab
