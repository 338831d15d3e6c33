#pragma once
// Text from inputs (site, kind and setting names from a summary.csv, a
// sweep file's name, a directory given with --out) on its way into a file
// that another program interprets: a gnuplot script, a shell or Slurm
// script, an INI file. One function per target language, so every writer
// quotes the same way and a new writer has one place to look.
//
//   gnuplot_quote("it's")        -> 'it'."'".'s'  a gnuplot string expression
//   gnuplot_data_string("a\"b")  -> "a'b"         a string column of a .dat
//   shell_quote("my dir")        -> 'my dir'      one POSIX shell word
//   one_line("a\nb")             -> a?b           after '#' or "key: "
//   slurm_job_name("kl vs l1")   -> kl_vs_l1
//   check_script_line(...)       throws for a line break in a script word
//   check_slurm_path(...)        throws for what an #SBATCH line cannot carry
//   ini_value_problem("a#b")     -> why it cannot be an INI value ("" if it can)
//
// None of them lets a line break through: in every one of these languages a
// new line is a new command (or key), whatever quotes surround it.

#include <string>
#include <string_view>

namespace saelab {

// `text` on one line: each control character (line breaks, tabs, escapes,
// DEL) becomes '?'. Safe after '#' in a script, INI or data file comment and
// as the value of a "key: value" line.
std::string one_line(std::string_view text);

// A gnuplot string expression: `text` in single quotes, each quote
// concatenated in as "'" (gnuplot misreads runs of doubled quotes), control
// characters as in one_line. gnuplot expands neither backquotes nor @macros
// inside single quotes, so the expression is inert wherever a string is
// expected.
std::string gnuplot_quote(std::string_view text);

// A double-quoted string column of a gnuplot data file. Data files have no
// escapes: a '"' becomes '\'' and control characters '?'.
std::string gnuplot_data_string(std::string_view text);

// One word for a POSIX shell: bare when it holds only characters no shell
// treats specially, else in single quotes with each ' written as '\''.
// A line break stays inside the quotes (the shell reads it as part of the
// word), so scripts that Slurm also scans must refuse it: check_slurm_path.
std::string shell_quote(std::string_view word);

// A Slurm job name: letters, digits and ._- kept, anything else '_'.
std::string slurm_job_name(std::string_view text);

// Throws std::runtime_error naming `what` and `text` when it holds a control
// character: text a script must keep on one line even inside shell quotes
// (Slurm scans every line of a job script for #SBATCH).
void check_script_line(std::string_view what, std::string_view text);

// check_script_line, and since Slurm's own #SBATCH tokenizer is not a shell:
// no blank, quote, backslash, '#' or '%' (a filename pattern character).
// For paths that go into an #SBATCH line as they are.
void check_slurm_path(std::string_view what, std::string_view path);

// Why `value` cannot be written as "key = value" and read back unchanged by
// the INI readers (Boost.Program_options strips '#' comments and blanks at
// both ends, and reads one line), or an empty view when it can.
std::string_view ini_value_problem(std::string_view value);

}  // namespace saelab
