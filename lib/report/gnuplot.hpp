#pragma once
// Rendering gnuplot scripts when gnuplot is installed. Figures are always
// saved as data + script first, so a machine without gnuplot loses nothing:
// `gnuplot loss_curves.gp` in the figures directory renders them later.

#include <filesystem>
#include <string>
#include <string_view>

namespace saelab {

// The first executable file named `program` in a $PATH directory, or an
// empty path. A plain directory scan: cheap enough to call per figure.
std::filesystem::path find_program(std::string_view program);

// Runs `gnuplot <script>` when gnuplot is on PATH, on copies of dir/<script>
// and its data dir/<script stem>.dat in a fresh private directory inside
// `dir`, then renames the PNG into `dir`. True when it exited 0 and `dir/png`
// exists and is not empty. Never throws for a missing or failing gnuplot: its
// output goes to `dir/<script>.log`, kept only on failure to say why.
bool gnuplot_render(const std::filesystem::path& dir, const std::string& script, const std::string& png);

}  // namespace saelab
