#pragma once
// saelab::h5: a small RAII layer over the HDF5 C API for run logs (SWMR) and
// checkpoints. Files, groups and attributes: h5_file.hpp. Datasets, long
// strings and images: h5_dataset.hpp. Include this header for both.

#include "log/h5_dataset.hpp"
#include "log/h5_file.hpp"
