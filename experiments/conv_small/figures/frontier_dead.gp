# Rendered by sae-compare; run `gnuplot frontier_dead.gp` in this directory to redraw frontier_dead.png from frontier_dead.dat.
set terminal pngcairo noenhanced size 960,640 font 'Sans,11'
set output 'frontier_dead.png'
set grid
set title 'Test BCE against dead units, site conv3 (2592 units)'
set xlabel 'fraction of dead units (never active on the test set)'
set ylabel 'test BCE (nat/pixel), mean +- sd over seeds'
set xrange [-0.02:1.02]
set key outside right top
plot 'frontier_dead.dat' index 0 using 1:3:2:4 with xyerrorbars pt 7 ps 0.8 lc rgb '#1f77b4' title 'L1 settings', \
     '' index 1 using 1:2 with lines dt 3 lw 1 lc rgb '#1f77b4' title 'L1 as the lambda grows', \
     '' index 2 using 1:2 with linespoints lw 2.5 pt 6 ps 2 lc rgb '#1f77b4' title 'L1 Pareto frontier'
