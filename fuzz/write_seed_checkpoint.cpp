// Writes the seed checkpoint of the checkpoint fuzz target:
//   build-fuzz/fuzz/write_seed_checkpoint fuzz/corpus/fuzz_checkpoint/model.h5

#include <cstdio>

#include "checkpoint_fixture.hpp"

using namespace saelab;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.h5\n", argv[0]);
    return 2;
  }
  fuzz::checkpoint_fixture s;
  s.opt->set_steps(5);
  save_checkpoint(argv[1], *s.net, *s.opt, s.r, {to_ini(s.config), optim_kind::adam, 1});
  return 0;
}
