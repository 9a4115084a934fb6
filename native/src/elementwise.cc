// Elementwise float32 kernels: unary maps and binary ops with numpy broadcasting.
#include <omp.h>
#include <cmath>
#include <vector>
#include "kernels.h"
#include "vmath.h"

namespace ink {

namespace {

// Below this many elements a kernel runs on one thread: waking the team costs more than it saves.
constexpr int64_t PAR_MIN = 200000;  // below: one thread (a team wake-up and barrier cost more)

template <typename F>
void map_vec(const float* x, float* y, int64_t n, F f) {
  // Chunks of whole vectors per thread; the tail goes through the same vector code via a padded buffer.
  const int64_t nv = n / VL;
  const int nt = threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (n >= PAR_MIN && nt > 1)
  for (int64_t i = 0; i < nv; i++) vstore(y + i * VL, f(vload(x + i * VL)));
  const int64_t done = nv * VL;
  if (done < n) {
    float buf[VL] = {0};
    for (int64_t i = done; i < n; i++) buf[i - done] = x[i];
    vf r = f(vload(buf));
    for (int64_t i = done; i < n; i++) y[i] = r[i - done];
  }
}

template <typename F>
void map_scalar(const float* x, float* y, int64_t n, F f) {
  const int nt = threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (n >= PAR_MIN && nt > 1)
  for (int64_t i = 0; i < n; i++) y[i] = f(x[i]);
}

}  // namespace

void tanh_grad(const float* y, const float* dy, float* dx, int64_t n) {
  const int nt = threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (n >= PAR_MIN && nt > 1)
  for (int64_t i = 0; i < n; i++) dx[i] = (1.0f - y[i] * y[i]) * dy[i];
}

void unary(int op, const float* x, float* y, int64_t n) {
  switch (op) {
    case U_TANH: return map_vec(x, y, n, [](vf v) { return vtanh(v); });
    case U_EXP: return map_vec(x, y, n, [](vf v) { return vexp(v); });
    case U_SIGMOID: return map_vec(x, y, n, [](vf v) { return 1.0f / (1.0f + vexp(-v)); });
    case U_NEG: return map_scalar(x, y, n, [](float v) { return -v; });
    case U_SQRT: return map_scalar(x, y, n, [](float v) { return std::sqrt(v); });
    case U_RSQRT: return map_scalar(x, y, n, [](float v) { return 1.0f / std::sqrt(v); });
    case U_SQUARE: return map_scalar(x, y, n, [](float v) { return v * v; });
    case U_RELU: return map_scalar(x, y, n, [](float v) { return v > 0.0f ? v : (v == v ? 0.0f : v); });
    case U_ABS: return map_scalar(x, y, n, [](float v) { return std::fabs(v); });
    case U_RECIPROCAL: return map_scalar(x, y, n, [](float v) { return 1.0f / v; });
    case U_LOG: return map_scalar(x, y, n, [](float v) { return std::log(v); });
    default: return;
  }
}

namespace {

struct Add { static float f(float a, float b) { return a + b; } };
struct Sub { static float f(float a, float b) { return a - b; } };
struct Mul { static float f(float a, float b) { return a * b; } };
struct Div { static float f(float a, float b) { return a / b; } };
struct Max { static float f(float a, float b) { return (a != a || a > b) ? a : b; } };
struct Min { static float f(float a, float b) { return (a != a || a < b) ? a : b; } };
struct SqDiff { static float f(float a, float b) { return (a - b) * (a - b); } };
struct TakeB { static float f(float, float b) { return b; } };

// One contiguous output row of length L; a and b advance by sa, sb in {0, 1}.
template <typename Op>
inline void row(const float* a, const float* b, float* o, int64_t L, int sa, int sb) {
  if (sa && sb) {
    for (int64_t i = 0; i < L; i++) o[i] = Op::f(a[i], b[i]);
  } else if (sa) {
    const float bv = b[0];
    for (int64_t i = 0; i < L; i++) o[i] = Op::f(a[i], bv);
  } else if (sb) {
    const float av = a[0];
    for (int64_t i = 0; i < L; i++) o[i] = Op::f(av, b[i]);
  } else {
    const float v = Op::f(a[0], b[0]);
    for (int64_t i = 0; i < L; i++) o[i] = v;
  }
}

template <typename Op>
void run_binary(const float* a, const float* b, float* out, int rank, const int64_t* aShape, const int64_t* bShape,
                const int64_t* outShape) {
  // Strides (0 where broadcast), then merge dims that are contiguous for a, b and out alike.
  std::vector<int64_t> dims, sa, sb;
  {
    std::vector<int64_t> as(rank), bs(rank);
    int64_t ka = 1, kb = 1;
    for (int d = rank - 1; d >= 0; d--) {
      as[d] = aShape[d] == 1 ? 0 : ka;
      bs[d] = bShape[d] == 1 ? 0 : kb;
      ka *= aShape[d];
      kb *= bShape[d];
    }
    for (int d = 0; d < rank; d++) {
      if (outShape[d] == 1) continue;
      if (!dims.empty() && sa.back() == as[d] * outShape[d] && sb.back() == bs[d] * outShape[d]) {
        dims.back() *= outShape[d];
        sa.back() = as[d];
        sb.back() = bs[d];
      } else {
        dims.push_back(outShape[d]);
        sa.push_back(as[d]);
        sb.push_back(bs[d]);
      }
    }
  }
  int64_t total = 1;
  for (int64_t d : dims) total *= d;
  if (total == 0) return;
  if (dims.empty()) {  // scalar result
    out[0] = Op::f(a[0], b[0]);
    return;
  }
  const int r = static_cast<int>(dims.size());
  const int64_t L = dims[r - 1];
  const int ia = sa[r - 1] ? 1 : 0, ib = sb[r - 1] ? 1 : 0;
  const int64_t rows = total / L;
  const int nt = threads();
  if (r == 1) {  // one contiguous run (same shapes, or a scalar operand): split it, not the single row, over threads
#pragma omp parallel num_threads(nt) if (total >= PAR_MIN && nt > 1)
    {
      const int T = omp_get_num_threads(), t = omp_get_thread_num();
      const int64_t i0 = L * t / T / VL * VL, i1 = t + 1 == T ? L : L * (t + 1) / T / VL * VL;
      row<Op>(a + (ia ? i0 : 0), b + (ib ? i0 : 0), out + i0, i1 - i0, ia, ib);
    }
    return;
  }
#pragma omp parallel num_threads(nt) if (total >= PAR_MIN && nt > 1)
  {
    const int T = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t r0 = rows * t / T, r1 = rows * (t + 1) / T;
    if (r0 < r1) {
      // Odometer over the outer dims, started at row r0.
      std::vector<int64_t> idx(r, 0);
      int64_t rem = r0, oa = 0, ob = 0;
      for (int d = r - 2; d >= 0; d--) {
        idx[d] = rem % dims[d];
        rem /= dims[d];
        oa += idx[d] * sa[d];
        ob += idx[d] * sb[d];
      }
      for (int64_t q = r0; q < r1; q++) {
        row<Op>(a + oa, b + ob, out + q * L, L, ia, ib);
        for (int d = r - 2; d >= 0; d--) {
          idx[d]++;
          oa += sa[d];
          ob += sb[d];
          if (idx[d] < dims[d]) break;
          oa -= sa[d] * dims[d];
          ob -= sb[d] * dims[d];
          idx[d] = 0;
        }
      }
    }
  }
}

}  // namespace

void binary(int op, const float* a, const float* b, float* out, int rank, const int64_t* aShape, const int64_t* bShape,
            const int64_t* outShape) {
  switch (op) {
    case B_ADD: return run_binary<Add>(a, b, out, rank, aShape, bShape, outShape);
    case B_SUB: return run_binary<Sub>(a, b, out, rank, aShape, bShape, outShape);
    case B_MUL: return run_binary<Mul>(a, b, out, rank, aShape, bShape, outShape);
    case B_DIV: return run_binary<Div>(a, b, out, rank, aShape, bShape, outShape);
    case B_MAX: return run_binary<Max>(a, b, out, rank, aShape, bShape, outShape);
    case B_MIN: return run_binary<Min>(a, b, out, rank, aShape, bShape, outShape);
    case B_SQDIFF: return run_binary<SqDiff>(a, b, out, rank, aShape, bShape, outShape);
    case B_TAKE_B: return run_binary<TakeB>(a, b, out, rank, aShape, bShape, outShape);
    default: return;
  }
}

}  // namespace ink
