# Rendered by sae-compare; run `gnuplot rho_hat_matched.gp` in this directory to redraw rho_hat_matched.png from rho_hat_matched.dat.
set terminal pngcairo noenhanced size 900,560 font 'Sans,11'
set output 'rho_hat_matched.png'
set grid
set title 'Mean activation per unit at matched reconstruction, site hidden'
set xlabel 'log10 rho_hat (mean activation of a unit over the test set)'
set ylabel 'fraction of units'
set style fill transparent solid 0.45 noborder
set key top left
set boxwidth 0.25 absolute
set xrange [-6:0]
plot 'rho_hat_matched.dat' using 3:4 with boxes lc rgb '#1f77b4' title 'KL rho=0.01 beta=0.001: test BCE 0.0902, L0 51.4, dead 0%', \
     '' using 3:5 with boxes lc rgb '#d62728' title 'L1 lambda=0.001: test BCE 0.0908, L0 49.1, dead 47%'
