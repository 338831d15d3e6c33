#pragma once
// The command line every saelab program reads, parsed one way:
//
//   --help, -h             the program's usage text on stdout, exit 0
//   --version              "sae-train 0.1.0 (git 5850806)" on stdout, exit 0
//   --out DIR, --out=DIR   an option with a value (-j 2 and -j2 for a one-letter one)
//   --quiet                a flag
//   --section.key=value    a config override (the name has a dot), also
//   --section.key value    written these two ways; passed on to load_config,
//   section.key=value      which says whether the key exists
//   --                     everything after it is positional
//   anything else          a positional argument
//
// An unknown option is one line naming it, the nearest known option when it
// is a near miss, and every option the program takes; exit status 2.
//
//   const cli::program p{.name = "sae-eval", .usage = usage, .options = {{{"--out"}, "DIR"}},
//                        .positional = "run directory or checkpoint"};
//   cli::arguments args;
//   if (const auto code = cli::parse_or_exit(p, argc, argv, args)) return *code;

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace saelab::cli {

struct option {
  std::vector<std::string> names;  // "--out"; an alias after the first ("-j", "--jobs")
  std::string value;               // what the value is ("DIR"); empty for a flag
};

struct program {
  std::string name;              // "sae-train", the prefix of every message
  std::string usage;             // the --help text
  std::vector<option> options;   // besides --help and --version
  bool overrides = false;        // takes config overrides
  std::string positional;        // what the one positional argument is ("config file")
};

class usage_error : public std::runtime_error {
  using runtime_error::runtime_error;
};

struct arguments {
  bool help = false, version = false;
  std::vector<std::string> positionals;
  std::vector<std::string> overrides;         // "--section.key=value", in command-line order
  std::map<std::string, std::string> values;  // by an option's first name; "" for a flag

  bool has(const std::string& name) const { return values.count(name) > 0; }
  std::string value_or(const std::string& name, const std::string& fallback) const;
};

// Throws usage_error with a message for "NAME: message". Stops at --help or
// --version, which win over what follows them.
arguments parse(const program& p, int argc, const char* const* argv);

// parse, then prints what the user asked for (--help, --version) or the one
// line of a usage error; returns the exit status when the program should stop.
std::optional<int> parse_or_exit(const program& p, int argc, const char* const* argv, arguments& out);

// `value` of `option` as an integer >= `min`; usage_error otherwise.
int to_int(const std::string& option, const std::string& value, int min);

// "sae-train 0.1.0 (git 5850806)"
std::string version_line(const std::string& program_name);

}  // namespace saelab::cli
