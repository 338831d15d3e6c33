#include <catch2/catch.hpp>

#include "tensor/blas.hpp"
#include "tensor/rng.hpp"
#include "tensor/tensor.hpp"

using namespace saelab;

TEST_CASE("tensor is row-major and zero-filled", "[tensor]") {
  tensor<float> t({2, 3, 4, 5});
  CHECK(t.numel() == 120);
  CHECK(t[119] == 0.0f);
  t.at(1, 2, 3, 4) = 7.0f;
  CHECK(t[119] == 7.0f);
  t.at(0, 1, 0, 2) = 3.0f;
  CHECK(t[1 * 20 + 2] == 3.0f);
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
}

TEST_CASE("slice is a view of whole rows", "[tensor]") {
  tensor<double> t({4, 3});
  for (int i = 0; i < 12; ++i) t[i] = i;
  auto s = t.slice(1, 3);
  CHECK(s.dims() == shape{2, 3});
  CHECK(s[0] == 3.0);
  s[0] = -1.0;
  CHECK(t[3] == -1.0);  // shares storage
  auto c = t.clone();
  c[0] = 42.0;
  CHECK(t[0] == 0.0);  // clone does not
  CHECK_THROWS_WITH(t.slice(2, 5), Catch::Contains("[2, 5)"));
  CHECK_THROWS(t.reshaped({5, 2}));
}

TEST_CASE("shape helpers", "[tensor]") {
  shape s{1, 28, 28};
  CHECK(s.batched(10) == shape{10, 1, 28, 28});
  CHECK(s.batched(10).drop_batch() == s);
  CHECK(s.batched(10).inner() == 784);
  CHECK(s.str() == "[1, 28, 28]");
}

TEST_CASE("gemm wrapper matches a hand-computed product", "[blas]") {
  // A [2,3], B [3,2]
  const double a[] = {1, 2, 3, 4, 5, 6};
  const double b[] = {7, 8, 9, 10, 11, 12};
  double c[4] = {1, 1, 1, 1};
  blas::gemm<double>(blas::trans::no, blas::trans::no, 2, 2, 3, 1.0, a, 3, b, 2, 1.0, c, 2);
  CHECK(c[0] == 59);  // 58 + 1
  CHECK(c[1] == 65);
  CHECK(c[2] == 140);
  CHECK(c[3] == 155);
  // A^T B^T with A [3,2] view: (a as [3,2])^T [2,3] times (b as [2,3])^T [3,2]
  float af[] = {1, 2, 3, 4, 5, 6}, bf[] = {1, 0, 0, 0, 1, 0}, cf[4];
  blas::gemm<float>(blas::trans::yes, blas::trans::yes, 2, 2, 3, 1.0f, af, 2, bf, 3, 0.0f, cf, 2);
  CHECK(cf[0] == 1);  // row 0 of A^T = (1,3,5); col 0 of B^T = (1,0,0)
  CHECK(cf[1] == 3);  // col 1 of B^T = (0,1,0)
  CHECK(cf[2] == 2);
  CHECK(cf[3] == 4);
}

TEST_CASE("rng is reproducible and its state round-trips", "[rng]") {
  rng a(42), b(42);
  for (int i = 0; i < 5; ++i) CHECK(a.next_u64() == b.next_u64());
  const auto st = a.state();
  const double u1 = a.uniform();
  a.set_state(st);
  CHECK(a.uniform() == u1);
  for (int i = 0; i < 1000; ++i) {
    const double u = b.uniform(-0.5, 0.5);
    CHECK(u >= -0.5);
    CHECK(u < 0.5);
    CHECK(b.below(7) < 7);
  }
}
