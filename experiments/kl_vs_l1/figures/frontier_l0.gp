# Rendered by sae-compare; run `gnuplot frontier_l0.gp` in this directory to redraw frontier_l0.png from frontier_l0.dat.
set terminal pngcairo noenhanced size 960,640 font 'Sans,11'
set output 'frontier_l0.png'
set grid
set title 'Test BCE against L0, site hidden (256 units)'
set xlabel 'L0: active units per test input (log scale)'
set ylabel 'test BCE (nat/pixel), mean +- sd over seeds'
set logscale x
set key outside right top
plot 'frontier_l0.dat' index 0 using 1:3:2:4 with xyerrorbars pt 7 ps 0.8 lc rgb '#1f77b4' title 'KL settings', \
     '' index 1 using 1:2 with lines dt 3 lw 1 lc rgb '#1f77b4' title 'KL as the beta grows', \
     '' index 2 using 1:2 with lines dt 3 lw 1 lc rgb '#1f77b4' notitle, \
     '' index 3 using 1:2 with lines dt 3 lw 1 lc rgb '#1f77b4' notitle, \
     '' index 4 using 1:2 with linespoints lw 2.5 pt 6 ps 2 lc rgb '#1f77b4' title 'KL Pareto frontier', \
     'frontier_l0.dat' index 5 using 1:3:2:4 with xyerrorbars pt 7 ps 0.8 lc rgb '#d62728' title 'L1 settings', \
     '' index 6 using 1:2 with lines dt 3 lw 1 lc rgb '#d62728' title 'L1 as the lambda grows', \
     '' index 7 using 1:2 with linespoints lw 2.5 pt 6 ps 2 lc rgb '#d62728' title 'L1 Pareto frontier'
