// The command-line parser every app uses (lib/cli), then each of the five
// built apps asked for --version and given an unknown option.

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cli.hpp"
#include "experiment/checkpoint.hpp"

using namespace saelab;
using Catch::Matchers::Contains;
using strings = std::vector<std::string>;
namespace fs = std::filesystem;

namespace {

const cli::program trainer{.name = "sae-x",
                           .usage = "usage: sae-x\n",
                           .options = {{{"--out"}, "DIR"}, {{"--quiet"}, ""}, {{"-j", "--jobs"}, "N"}},
                           .overrides = true,
                           .positional = "config file"};

cli::arguments parse(const cli::program& p, strings args) {
  args.insert(args.begin(), "sae-x");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return cli::parse(p, static_cast<int>(argv.size()), argv.data());
}

std::string error_of(const cli::program& p, const strings& args) {
  try {
    parse(p, args);
  } catch (const cli::usage_error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("cli: options with values, flags, aliases and positionals", "[cli]") {
  const auto a = parse(trainer, {"c.ini", "--out", "d1", "--quiet", "-j", "3"});
  CHECK(a.positionals == strings{"c.ini"});
  CHECK(a.value_or("--out", "") == "d1");
  CHECK(a.has("--quiet"));
  CHECK(a.values.at("-j") == "3");
  CHECK_FALSE(a.help);

  const auto b = parse(trainer, {"--out=d2", "-j4", "c.ini"});
  CHECK(b.value_or("--out", "") == "d2");
  CHECK(b.values.at("-j") == "4");
  CHECK_FALSE(b.has("--quiet"));
  CHECK(parse(trainer, {"--jobs=5"}).values.at("-j") == "5");  // an alias is stored under the first name
  CHECK(parse(trainer, {"--out", "a", "--out", "b"}).values.at("--out") == "b");
  CHECK(parse(trainer, {"--", "--quiet"}).positionals == strings{"--quiet"});
  CHECK(parse(trainer, {"-"}).positionals == strings{"-"});
}

TEST_CASE("cli: dotted names are config overrides, in order, in the form load_config takes", "[cli]") {
  const auto a = parse(trainer, {"--sparsity.rho=0.1", "c.ini", "--train.epochs", "5", "model.arch=conv"});
  CHECK(a.positionals == strings{"c.ini"});
  CHECK(a.overrides == strings{"--sparsity.rho=0.1", "--train.epochs=5", "--model.arch=conv"});
  CHECK(parse(trainer, {"--run.out="}).overrides == strings{"--run.out="});
  // A path with '=' in it is not an override.
  CHECK(parse(trainer, {"runs/a.b=c.ini"}).positionals == strings{"runs/a.b=c.ini"});
  CHECK_THAT(error_of(trainer, {"--sparsity.rho"}),
             Contains("--sparsity.rho has no value: expected --sparsity.rho=VALUE or --sparsity.rho VALUE"));
  CHECK_THAT(error_of(trainer, {"--sparsity.rho", "--quiet"}), Contains("--sparsity.rho has no value"));

  cli::program no_overrides = trainer;
  no_overrides.overrides = false;
  CHECK_THAT(error_of(no_overrides, {"--sparsity.rho=0.1"}), Contains("unknown option '--sparsity.rho'"));
}

TEST_CASE("cli: --help and --version win wherever they stand", "[cli]") {
  CHECK(parse(trainer, {"c.ini", "--version"}).version);
  CHECK(parse(trainer, {"c.ini", "-h"}).help);
  CHECK(parse(trainer, {"--help", "--no-such"}).help);
  CHECK(cli::version_line("sae-x") == fmt::format("sae-x {} (git {})", program_version(), git_revision()));
}

TEST_CASE("cli: usage errors are one line naming the option", "[cli]") {
  CHECK(error_of(trainer, {"--foo"}) ==
        "unknown option '--foo'; sae-x takes --out DIR, --quiet, -j N, --jobs N, --section.key=VALUE, --help, "
        "--version");
  CHECK_THAT(error_of(trainer, {"--qiuet"}), Contains("unknown option '--qiuet' (did you mean --quiet?)"));
  CHECK_THAT(error_of(trainer, {"--verison"}), Contains("(did you mean --version?)"));
  CHECK_THAT(error_of(trainer, {"--ot=x"}), Contains("unknown option '--ot' (did you mean --out?)"));
  CHECK_THAT(error_of(trainer, {"-x"}), Contains("unknown option '-x'") && !Contains("did you mean"));
  CHECK_THAT(error_of(trainer, {"--a\nb"}), Contains("unknown option '--a\\nb'"));
  CHECK(error_of(trainer, {"--out"}) == "--out needs a value: --out DIR");
  CHECK(error_of(trainer, {"--quiet=1"}) == "--quiet takes no value");
  CHECK(error_of(trainer, {"a.ini", "b.ini"}) == "unexpected argument 'b.ini' (one config file only)");
  CHECK(cli::to_int("--levels", "3", 1) == 3);
  CHECK_THROWS_WITH(cli::to_int("--levels", "0", 1), "--levels '0': expected an integer >= 1");
  CHECK_THROWS_WITH(cli::to_int("--levels", "3x", 1), "--levels '3x': expected an integer >= 1");
}

namespace {

struct app_output {
  int exit_code = -1;
  std::string out;  // stdout only, or stderr only
};

// Runs build/apps/`app` with `args` through the shell, capturing stdout
// (or stderr, with stdout dropped, when `want_stderr`).
app_output run_app(const std::string& app, const std::string& args, bool want_stderr) {
  const fs::path exe = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "apps" / app;
  const std::string cmd = fmt::format("'{}' {} {}", exe.string(), args, want_stderr ? "2>&1 >/dev/null" : "2>/dev/null");
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  app_output o;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) o.out.append(buf, n);
  const int status = ::pclose(pipe);
  if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  return o;
}

}  // namespace

TEST_CASE("cli: every app prints its version and names an unknown option", "[cli]") {
  for (const std::string app : {"sae-train", "sae-eval", "sae-sweep", "sae-compare", "sae-bench"}) {
    INFO(app);
    const app_output v = run_app(app, "some-input --version", false);
    CHECK(v.exit_code == 0);
    CHECK(v.out == cli::version_line(app) + "\n");

    const app_output bad = run_app(app, "some-input --frobnicate", true);
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.out, Contains(app + ": unknown option '--frobnicate'; " + app + " takes ") &&
                            Contains("--help, --version\n"));
    CHECK(std::count(bad.out.begin(), bad.out.end(), '\n') == 1);

    const app_output help = run_app(app, "--help", false);
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Contains("usage: " + app) && Contains("--version"));
  }
}
