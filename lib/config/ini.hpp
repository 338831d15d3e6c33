#pragma once
// The one INI reader: experiment configs (config.cpp), sweep files
// (sweep/spec.cpp) and the configs stored in checkpoints and run directories
// (ini_values).
//
//   # a comment; '#' starts one anywhere on a line
//   [section]
//   key = value          blanks around the key and the value are dropped
//
//   const ini_text t = read_ini(text);
//   t.entries[0].dotted()     // "section.key"
//   t.problems                // one per line that is neither a header nor 'key = value'
//   t.entries[1].first_line   // != 0: the same dotted key was given before, on that line
//
// read_ini never throws: each mistake of the text is an ini_problem naming its
// line, so a caller reports every one at once, in its own words, with its own
// file name. What a section or key means is the caller's business.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace saelab {

struct ini_section {
  std::string name;  // between the brackets, trimmed; for a malformed header, the whole line
  int line = 0;
  bool well_formed = true;  // false: '[' without a closing ']'
};

struct ini_entry {
  std::string key, value;
  int line = 0;
  int section = -1;     // index into ini_text::sections; -1 before any header
  int first_line = 0;   // when the same dotted key came earlier: that line; else 0
  std::string section_name;  // "" before any header

  std::string dotted() const;  // "section.key", or "key" before any header
};

struct ini_problem {
  int line = 0;
  std::string text;     // the line, comment and blanks removed
  std::string message;  // "expected 'key = value'", ...
};

struct ini_text {
  std::vector<ini_section> sections;  // in file order, repeated names included
  std::vector<ini_entry> entries;     // in file order, repeated keys included (first_line set)
  std::vector<ini_problem> problems;  // malformed lines, in file order (repeated keys: first_line)
};

ini_text read_ini(std::string_view text);

// The "section.key" -> value pairs of an INI text as to_ini writes it; a key
// given twice keeps its last value; malformed lines are skipped.
std::map<std::string, std::string> ini_values(std::string_view text);

}  // namespace saelab
