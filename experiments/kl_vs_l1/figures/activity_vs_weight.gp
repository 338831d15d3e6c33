# Rendered by sae-compare; run `gnuplot activity_vs_weight.gp` in this directory to redraw activity_vs_weight.png from activity_vs_weight.dat.
set terminal pngcairo noenhanced size 1040,600 font 'Sans,11'
set output 'activity_vs_weight.png'
set grid
set multiplot layout 1,2 title 'Dead (solid) and dense (dashed) units, site hidden'
set yrange [-0.02:1.02]
set ylabel 'fraction of units'
set key below
set format x '%g'
set bmargin 8
set title 'KL'
set xlabel 'sparsity.beta (log scale)'
set logscale x
plot 'activity_vs_weight.dat' index 0 using 1:2 with linespoints lw 2 pt 7 lc rgb '#2ca02c' title 'rho 0.01 dead', \
     '' index 0 using 1:3 with linespoints lw 2 dt 2 pt 6 lc rgb '#2ca02c' title 'rho 0.01 dense', \
     'activity_vs_weight.dat' index 1 using 1:2 with linespoints lw 2 pt 7 lc rgb '#9467bd' title 'rho 0.03 dead', \
     '' index 1 using 1:3 with linespoints lw 2 dt 2 pt 6 lc rgb '#9467bd' title 'rho 0.03 dense', \
     'activity_vs_weight.dat' index 2 using 1:2 with linespoints lw 2 pt 7 lc rgb '#ff7f0e' title 'rho 0.1 dead', \
     '' index 2 using 1:3 with linespoints lw 2 dt 2 pt 6 lc rgb '#ff7f0e' title 'rho 0.1 dense'
set title 'L1'
set xlabel 'sparsity.lambda (log scale)'
set logscale x
plot 'activity_vs_weight.dat' index 3 using 1:2 with linespoints lw 2 pt 7 lc rgb '#d62728' title 'L1 dead', \
     '' index 3 using 1:3 with linespoints lw 2 dt 2 pt 6 lc rgb '#d62728' title 'L1 dense'
unset multiplot
