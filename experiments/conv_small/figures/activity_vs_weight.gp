# Rendered by sae-compare; run `gnuplot activity_vs_weight.gp` in this directory to redraw activity_vs_weight.png from activity_vs_weight.dat.
set terminal pngcairo noenhanced size 520,600 font 'Sans,11'
set output 'activity_vs_weight.png'
set grid
set multiplot layout 1,1 title 'Dead (solid) and dense (dashed) units, site conv3'
set yrange [-0.02:1.02]
set ylabel 'fraction of units'
set key below
set format x '%g'
set bmargin 8
set title 'L1'
set xlabel 'sparsity.lambda (log scale)'
set logscale x
plot 'activity_vs_weight.dat' index 0 using 1:2 with linespoints lw 2 pt 7 lc rgb '#1f77b4' title 'L1 dead', \
     '' index 0 using 1:3 with linespoints lw 2 dt 2 pt 6 lc rgb '#1f77b4' title 'L1 dense'
unset multiplot
