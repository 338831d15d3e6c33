#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <unistd.h>

#include "config/config.hpp"

using namespace saelab;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed with its files at scope exit.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / ("saelab_test_config_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  // Writes `text` to the file `name` here and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

 private:
  fs::path path_;
};

const char* const fc_kl_ini =
    "# a KL run\n"
    "[model]\n"
    "hidden = 196\n"
    "[sparsity]\n"
    "kind = kl\n"
    "rho = 0.08\n"
    "[train]\n"
    "epochs = 5\n";

}  // namespace

TEST_CASE("defaults without a file", "[config]") {
  const experiment_config c = load_config("", {});
  CHECK(c == experiment_config{});
  CHECK(c.model.arch == model_arch::fc);
  CHECK(c.model.hidden == 1024);
  CHECK(c.model.hidden_activation == activation_kind::sigmoid);
  CHECK(c.sparsity.kind == sparsity_kind::none);
  CHECK(c.sparsity.rho == 0.05);
  CHECK(c.sparsity.sites == std::vector<std::string>{"all"});
  CHECK(c.train.batch_size == 1200);
  CHECK(c.train.shuffle);
  CHECK(c.optim.kind == optim_kind::adam);
  CHECK(c.optim.lr == 9e-3);
  CHECK(c.data.dir == "data/mnist");
  CHECK(c.run.seed == 42);
  CHECK(c.run.threads == 2);
  CHECK(c.run.name.empty());
  CHECK(c.log.every_steps == 10);
}

TEST_CASE("a file overrides the defaults it names", "[config]") {
  temp_dir dir;
  const experiment_config c = load_config(dir.write("fc_kl.ini", fc_kl_ini), {});
  CHECK(c.model.hidden == 196);
  CHECK(c.sparsity.kind == sparsity_kind::kl);
  CHECK(c.sparsity.rho == 0.08);
  CHECK(c.train.epochs == 5);
  CHECK(c.sparsity.beta == 3.0);  // not in the file
  CHECK(c.run.name == "fc_kl");   // the file's stem
}

TEST_CASE("the command line overrides the file in all three token forms", "[config]") {
  temp_dir dir;
  const std::string path = dir.write("fc_kl.ini", fc_kl_ini);
  const experiment_config c = load_config(
      path, {"--sparsity.rho=0.1", "--train.epochs", "7", "model.hidden=32", "--data.dir", "a=b", "--run.out="});
  CHECK(c.sparsity.rho == 0.1);
  CHECK(c.train.epochs == 7);
  CHECK(c.model.hidden == 32);
  CHECK(c.data.dir == "a=b");  // a value token is never read as a key
  CHECK(c.run.out.empty());
  CHECK(c.sparsity.kind == sparsity_kind::kl);  // still from the file

  // Overrides alone, with no file.
  CHECK(load_config("", {"optim.kind=sgd"}).optim.kind == optim_kind::sgd);
}

TEST_CASE("to_ini round-trips every value exactly", "[config]") {
  temp_dir dir;
  experiment_config c;
  c.model.arch = model_arch::seed_conv;
  c.model.hidden_activation = activation_kind::relu;
  c.sparsity.kind = sparsity_kind::seed_kl;
  c.sparsity.rho = 0.1 + 0.2;  // 0.30000000000000004: needs all 17 digits
  c.sparsity.beta = 0.005;
  c.sparsity.lambda = 1.0 / 3.0;
  c.sparsity.reduction = penalty_reduction::mean;
  c.sparsity.sites = {"hidden", "bottleneck"};
  c.train.loss = loss_kind::mse;
  c.train.shuffle = false;
  c.train.train_limit = 6000;
  c.optim.eps = 1e-12;
  c.data.dir = "/data/mnist with spaces";
  c.run.seed = std::numeric_limits<std::uint64_t>::max();
  c.run.name = "named_run";
  c.log.active_threshold = 0;

  const std::string ini = to_ini(c);
  CHECK(ini.rfind("# ", 0) == 0);  // leading comment line
  CHECK_THAT(ini, Catch::Contains("[sparsity]\nkind = seed_kl\nrho = 0.30000000000000004\n"));
  CHECK_THAT(ini, Catch::Contains("sites = hidden, bottleneck\n"));
  CHECK(load_config(dir.write("resolved.ini", ini), {}) == c);

  // Defaults, with the empty name and out, also come back unchanged.
  CHECK(load_config(dir.write("defaults.ini", to_ini(experiment_config{})), {}) == experiment_config{});
}

TEST_CASE("config_keys lists every key to_ini writes", "[config]") {
  const std::vector<std::string> keys = config_keys();
  CHECK(keys.size() == 30);
  CHECK(keys.front() == "model.arch");
  const std::string ini = to_ini(experiment_config{});
  for (const std::string& key : keys) {
    INFO(key);
    const std::string leaf = key.substr(key.find('.') + 1);
    CHECK_THAT(ini, Catch::Contains("\n" + leaf + " ="));
    // load_config knows the key: a bad value ('#' fits no key) fails, but not as unknown.
    CHECK_THROWS_WITH(load_config("", {"--" + key + "=#"}), !Catch::Contains("unknown key"));
  }
}

TEST_CASE("bools read true, false, 1 and 0", "[config]") {
  CHECK(load_config("", {"train.shuffle=true"}).train.shuffle);
  CHECK(load_config("", {"train.shuffle=1"}).train.shuffle);
  CHECK_FALSE(load_config("", {"train.shuffle=false"}).train.shuffle);
  CHECK_FALSE(load_config("", {"train.shuffle=0"}).train.shuffle);
  CHECK_THROWS_WITH(load_config("", {"train.shuffle=yes"}),
                    Catch::Contains("train.shuffle = 'yes'") && Catch::Contains("true, false, 1 or 0"));
}

TEST_CASE("sites parse into a list of names", "[config]") {
  temp_dir dir;
  using names = std::vector<std::string>;
  CHECK(load_config(dir.write("s.ini", "[sparsity]\nsites = hidden, bottleneck\n"), {}).sparsity.sites ==
        names{"hidden", "bottleneck"});
  CHECK(load_config("", {"sparsity.sites=conv1"}).sparsity.sites == names{"conv1"});
  CHECK(load_config("", {"sparsity.sites=all"}).sparsity.sites == names{"all"});
  CHECK_THROWS_WITH(load_config("", {"sparsity.sites=a,,b"}),
                    Catch::Contains("sparsity.sites = 'a,,b'") && Catch::Contains("empty name"));
  CHECK_THROWS_WITH(load_config("", {"sparsity.sites=all, hidden"}), Catch::Contains("mixes all"));
}

TEST_CASE("errors name the source, the key, the value and what was expected", "[config]") {
  temp_dir dir;

  SECTION("unknown key, with a suggestion") {
    const std::string path = dir.write("x.ini", "[sparsity]\nrhoo = 0.1\n");
    CHECK_THROWS_AS(load_config(path, {}), config_error);
    CHECK_THROWS_WITH(load_config(path, {}),
                      Catch::Contains(path + ": unknown key 'sparsity.rhoo'; did you mean 'sparsity.rho'?"));
    CHECK_THROWS_WITH(load_config("", {"--optim.l=1"}),
                      Catch::Contains("command line: unknown key 'optim.l'; did you mean 'optim.lr'?"));
    // A key outside its section is found by its leaf.
    CHECK_THROWS_WITH(load_config(dir.write("top.ini", "rho = 0.1\n"), {}), Catch::Contains("did you mean 'sparsity.rho'?"));
    CHECK_THROWS_WITH(load_config("", {"--nonsense.entirely=1"}),
                      Catch::Contains("unknown key 'nonsense.entirely'") && !Catch::Contains("did you mean"));
  }
  SECTION("out of range") {
    const std::string path = dir.write("x.ini", "[sparsity]\nrho = 1.5\n");
    CHECK_THROWS_WITH(load_config(path, {}),
                      Catch::Contains(path + ": sparsity.rho = 1.5 is out of range: expected a number in (0, 1)"));
    CHECK_THROWS_WITH(load_config("", {"sparsity.rho=0"}), Catch::Contains("expected a number in (0, 1)"));
    CHECK_THROWS_WITH(load_config("", {"optim.beta1=1"}),
                      Catch::Contains("optim.beta1 = 1 is out of range: expected a number in [0, 1)"));
    CHECK_THROWS_WITH(load_config("", {"run.threads=300"}),
                      Catch::Contains("run.threads = 300 is out of range: expected an integer in [1, 256]"));
    CHECK_THROWS_WITH(load_config("", {"train.epochs=0"}), Catch::Contains("expected an integer >= 1"));
    CHECK_THROWS_WITH(load_config("", {"optim.lr=0"}), Catch::Contains("optim.lr = 0 is out of range: expected a number > 0"));
    CHECK_THROWS_WITH(load_config("", {"run.seed=-1"}), Catch::Contains("run.seed = -1 is out of range"));
    CHECK_THROWS_WITH(load_config("", {"train.epochs=99999999999"}), Catch::Contains("is out of range"));
  }
  SECTION("malformed numbers") {
    CHECK_THROWS_WITH(load_config("", {"--train.epochs=ten"}),
                      Catch::Contains("command line: train.epochs = 'ten' is not an integer: expected an integer >= 1"));
    CHECK_THROWS_WITH(load_config("", {"train.epochs=2.5"}), Catch::Contains("'2.5' is not an integer"));
    CHECK_THROWS_WITH(load_config("", {"sparsity.rho=0.1x"}),
                      Catch::Contains("sparsity.rho = '0.1x' is not a number: expected a number in (0, 1)"));
    CHECK_THROWS_WITH(load_config("", {"sparsity.beta=nan"}), Catch::Contains("'nan' is not a number"));
    CHECK_THROWS_WITH(load_config("", {"sparsity.beta="}), Catch::Contains("'' is not a number"));
  }
  SECTION("a value outside a fixed set") {
    const std::string path = dir.write("x.ini", "[model]\narch = mlp\n");
    CHECK_THROWS_WITH(load_config(path, {}), Catch::Contains(path + ": model.arch = 'mlp': expected one of fc, seed_conv"));
    CHECK_THROWS_WITH(load_config("", {"sparsity.kind=KL"}),
                      Catch::Contains("sparsity.kind = 'KL': expected one of none, kl, l1, seed_kl"));
  }
  SECTION("the source of a bad value is the one that gave it") {
    const std::string path = dir.write("x.ini", "[train]\nepochs = 0\n");
    CHECK_THROWS_WITH(load_config(path, {}), Catch::Contains(path + ": train.epochs = 0"));
    CHECK_NOTHROW(load_config(path, {"train.epochs=3"}));  // the file's bad value is overridden
    CHECK_THROWS_WITH(load_config(path, {"train.epochs=-5"}), Catch::Contains("command line: train.epochs = -5"));
  }
  SECTION("missing or unreadable file") {
    const std::string missing = dir.write("x.ini", "") + ".nope";
    CHECK_THROWS_WITH(load_config(missing, {}), Catch::Contains(missing + ": no such config file"));
    CHECK_THROWS_WITH(load_config(fs::temp_directory_path().string(), {}),
                      Catch::Contains("not a regular file (a directory): expected a config file"));
  }
  SECTION("a key given twice") {
    const std::string path = dir.write("x.ini", "[sparsity]\nrho = 0.1\nrho = 0.2\n");
    CHECK_THROWS_WITH(load_config(path, {}), Catch::Contains(path + ": key 'sparsity.rho' is given more than once"));
    // Even when the command line sets it too.
    CHECK_THROWS_WITH(load_config(path, {"sparsity.rho=0.3"}), Catch::Contains("given more than once"));
    CHECK_THROWS_WITH(load_config("", {"sparsity.rho=0.3", "--sparsity.rho", "0.4"}),
                      Catch::Contains("command line: key 'sparsity.rho' is given more than once ('0.3', then '0.4')"));
  }
  SECTION("malformed lines and tokens") {
    const std::string path = dir.write("x.ini", "[model]\nhidden 12\n");
    CHECK_THROWS_WITH(load_config(path, {}), Catch::Contains(path + ": invalid line 'hidden 12'"));
    CHECK_THROWS_WITH(load_config("", {"sparsity.rho"}), Catch::Contains("command line: unexpected argument 'sparsity.rho'"));
    CHECK_THROWS_WITH(load_config("", {"--sparsity.rho"}), Catch::Contains("command line: --sparsity.rho has no value"));
    CHECK_THROWS_WITH(load_config("", {"--sparsity.rho", "--train.epochs=2"}), Catch::Contains("--sparsity.rho has no value"));
  }
}

TEST_CASE("to_ini refuses a config it could not load back", "[config]") {
  experiment_config c;
  c.sparsity.rho = 2;
  CHECK_THROWS_WITH(to_ini(c), Catch::Contains("sparsity.rho = 2 is out of range"));
  c = {};
  c.data.dir = "a#b";  // '#' starts an INI comment
  CHECK_THROWS_WITH(to_ini(c), Catch::Contains("data.dir = 'a#b' cannot be written"));
  CHECK_THROWS_WITH(load_config("", {"run.out= spaced"}), Catch::Contains("cannot be written"));
}

TEST_CASE("enum values print as their INI spelling", "[config]") {
  CHECK(to_string(model_arch::seed_conv) == "seed_conv");
  CHECK(to_string(activation_kind::relu) == "relu");
  CHECK(to_string(sparsity_kind::seed_kl) == "seed_kl");
  CHECK(to_string(penalty_reduction::mean) == "mean");
  CHECK(to_string(loss_kind::mse) == "mse");
  CHECK(to_string(optim_kind::sgd) == "sgd");
}

TEST_CASE("real keys are checked as the floats training uses", "[config]") {
  const auto error = [](const std::string& token) {
    try {
      load_config("", {token});
    } catch (const config_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // Each accepted as a double before; each is 0, 1, inf or a denormal as a float.
  CHECK_THAT(error("sparsity.rho=1e-50"), Catch::Contains("sparsity.rho = 1e-50 rounds to 0 in single precision"));
  CHECK_THAT(error("sparsity.rho=0.99999999999"),
             Catch::Contains("sparsity.rho = 0.99999999999 rounds to a value outside the range in single precision (1)") &&
                 Catch::Contains("expected a number in (0, 1)"));
  CHECK_THAT(error("optim.lr=1e-50"), Catch::Contains("optim.lr = 1e-50 rounds to 0"));
  CHECK_THAT(error("optim.beta2=0.9999999999"), Catch::Contains("optim.beta2 = 0.9999999999 rounds to a value outside"));
  CHECK_THAT(error("optim.eps=1e-40"), Catch::Contains("optim.eps = 1e-40 is a denormal in single precision"));
  CHECK_THAT(error("sparsity.beta=1e39"), Catch::Contains("sparsity.beta = 1e39 overflows to inf"));
  CHECK_THAT(error("log.active_threshold=1e-45"), Catch::Contains("log.active_threshold = 1e-45"));
  // What a float can hold passes, 0 included where the range has it.
  CHECK(load_config("", {"sparsity.lambda=0"}).sparsity.lambda == 0);
  CHECK(load_config("", {"optim.beta2=0.9999"}).optim.beta2 == 0.9999);
  CHECK(load_config("", {"optim.eps=1e-30"}).optim.eps == 1e-30);
  CHECK(load_config("", {"sparsity.rho=0.999999"}).sparsity.rho == 0.999999);
}

TEST_CASE("run.name cannot leave experiments/runs", "[config]") {
  for (const char* bad : {"..", "../x", "a/b", "/etc", ".hidden", "a b", "a\nb", "x;rm"})
    CHECK_THROWS_WITH(load_config("", {std::string("--run.name=") + bad}),
                      Catch::Contains("cannot name a run directory: expected letters, digits"));
  CHECK(load_config("", {"--run.name=fc_kl-2.v1"}).run.name == "fc_kl-2.v1");
  CHECK(load_config("", {"--run.name="}).run.name.empty());
  // The default from the file's stem is made safe rather than refused.
  temp_dir dir;
  CHECK(load_config(dir.write("my run (2).ini", ""), {}).run.name == "my_run__2_");
  CHECK(load_config(dir.write(".x.ini", ""), {}).run.name == "_x");
}

TEST_CASE("values with control characters are escaped in messages", "[config]") {
  temp_dir dir;
  const std::string path = dir.write("x.ini", "[model]\narch = fc\x1b[2J\n");
  try {
    load_config("", {"--sparsity.rho=0.1\nsae-train: all fine"});
    FAIL("accepted");
  } catch (const config_error& e) {
    CHECK(std::string(e.what()) ==
          "command line: sparsity.rho = '0.1\\nsae-train: all fine' is not a number: expected a number in (0, 1)");
  }
  CHECK_THROWS_WITH(load_config(path, {}), Catch::Contains("model.arch = 'fc\\x1b[2J'"));
  CHECK_THROWS_WITH(load_config("", {"--optim.k\tind=adam"}), Catch::Contains("unknown key 'optim.k\\tind'"));
  CHECK_THROWS_WITH(load_config("", {"--data.dir=a\rb"}), Catch::Contains("'a\\rb' cannot be written"));
  CHECK_THROWS_WITH(load_config(path + "\n.nope", {}), Catch::Contains("x.ini\\n.nope: no such config file"));
}
