// Reductions over a contiguous block of axes (x viewed as (pre, red, post)) and softmax over the last axis.
#include <omp.h>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>
#include "kernels.h"
#include "vmath.h"

namespace ink {

namespace {

constexpr int64_t PAR_MIN = 200000;  // below: one thread (a team wake-up and barrier cost more)

struct SumOp {
  static float init() { return 0.0f; }
  static float f(float a, float b) { return a + b; }
  static vf fv(vf a, vf b) { return a + b; }
};
struct MaxOp {
  static float init() { return -std::numeric_limits<float>::infinity(); }
  static float f(float a, float b) { return b > a ? b : a; }
  static vf fv(vf a, vf b) { return vselect(b > a, b, a); }
};
struct MinOp {
  static float init() { return std::numeric_limits<float>::infinity(); }
  static float f(float a, float b) { return b < a ? b : a; }
  static vf fv(vf a, vf b) { return vselect(b < a, b, a); }
};

// Reduce n contiguous values: 16 lanes in parallel, then the lanes and the tail.
template <typename Op>
float reduce_contig(const float* x, int64_t n) {
  vf acc = vsplat(Op::init());
  int64_t i = 0;
  for (; i + VL <= n; i += VL) acc = Op::fv(acc, vload(x + i));
  float r = Op::init();
  for (int l = 0; l < VL; l++) r = Op::f(r, acc[l]);
  for (; i < n; i++) r = Op::f(r, x[i]);
  return r;
}

template <typename Op>
void run_reduce(const float* x, float* out, int64_t pre, int64_t red, int64_t post, float scale) {
  const int nt = threads();
  const bool par = pre * red * post >= PAR_MIN && nt > 1;
  if (post == 1) {
    if (pre >= nt || !par) {
#pragma omp parallel for schedule(static) num_threads(nt) if (par)
      for (int64_t p = 0; p < pre; p++) out[p] = reduce_contig<Op>(x + p * red, red) * scale;
    } else {
      // Few long rows: split each row across the threads and combine the partial results.
      for (int64_t p = 0; p < pre; p++) {
        std::vector<float> part(nt, Op::init());
#pragma omp parallel num_threads(nt)
        {
          const int T = omp_get_num_threads(), t = omp_get_thread_num();
          const int64_t a = red * t / T, b = red * (t + 1) / T;
          part[t] = reduce_contig<Op>(x + p * red + a, b - a);
        }
        float r = Op::init();
        for (float v : part) r = Op::f(r, v);
        out[p] = r * scale;
      }
    }
    return;
  }
  // post > 1: accumulate whole rows of length post (vectorised along post); threads split (pre x post-chunks).
  const int64_t chunk = std::max<int64_t>(64, (post + nt - 1) / nt);
  const int64_t nChunks = (post + chunk - 1) / chunk;
#pragma omp parallel for collapse(2) schedule(static) num_threads(nt) if (par)
  for (int64_t p = 0; p < pre; p++) {
    for (int64_t c = 0; c < nChunks; c++) {
      const int64_t j0 = c * chunk, j1 = std::min(post, j0 + chunk);
      float* o = out + p * post;
      const float* base = x + p * red * post;
      for (int64_t j = j0; j < j1; j++) o[j] = Op::init();
      for (int64_t i = 0; i < red; i++) {
        const float* xr = base + i * post;
        for (int64_t j = j0; j < j1; j++) o[j] = Op::f(o[j], xr[j]);
      }
      if (scale != 1.0f) for (int64_t j = j0; j < j1; j++) o[j] *= scale;
    }
  }
}

}  // namespace

void reduce(int op, const float* x, float* out, int64_t pre, int64_t red, int64_t post) {
  switch (op) {
    case R_SUM: return run_reduce<SumOp>(x, out, pre, red, post, 1.0f);
    case R_MEAN: {
      // Sum, then divide (as tfjs does), so the result equals sum/red exactly rounded once.
      run_reduce<SumOp>(x, out, pre, red, post, 1.0f);
      const float n = static_cast<float>(red);
      for (int64_t i = 0; i < pre * post; i++) out[i] /= n;
      return;
    }
    case R_MAX: return run_reduce<MaxOp>(x, out, pre, red, post, 1.0f);
    case R_MIN: return run_reduce<MinOp>(x, out, pre, red, post, 1.0f);
    default: return;
  }
}

namespace {

// y[0:cols] = softmax(scale * x[0:cols]); x and y may be the same row. Returns log(sum(exp(scale * x))).
float softmax_row(const float* xr, float* yr, int64_t cols, float scale) {
  float m = -std::numeric_limits<float>::infinity();
  if (scale == 1.0f) {
    m = reduce_contig<MaxOp>(xr, cols);
  } else {
    for (int64_t j = 0; j < cols; j++) m = std::max(m, xr[j] * scale);
  }
  const vf mv = vsplat(m);
  vf acc = vsplat(0.0f);
  int64_t i = 0;
  for (; i + VL <= cols; i += VL) {
    vf e = vexp(vload(xr + i) * scale - mv);
    vstore(yr + i, e);
    acc += e;
  }
  if (i < cols) {
    float buf[VL];
    for (int l = 0; l < VL; l++) buf[l] = i + l < cols ? xr[i + l] * scale : -std::numeric_limits<float>::infinity();
    vf e = vexp(vload(buf) - mv);
    for (int64_t l = 0; i + l < cols; l++) yr[i + l] = e[l];
    acc += e;
  }
  float s = 0.0f;
  for (int l = 0; l < VL; l++) s += acc[l];
  const float inv = 1.0f / s;
  for (int64_t j = 0; j < cols; j++) yr[j] *= inv;
  return m + std::log(s);
}

// dx[0:cols] = scale * (t - sum(t) y) with t = dy*y: softmax backward times the forward's scale.
void softmax_grad_row(const float* yr, const float* gr, float* o, int64_t cols, float scale) {
  vf acc = vsplat(0.0f);
  int64_t i = 0;
  for (; i + VL <= cols; i += VL) {
    vf t = vload(gr + i) * vload(yr + i);
    vstore(o + i, t);
    acc += t;
  }
  float s = 0.0f;
  for (int l = 0; l < VL; l++) s += acc[l];
  for (; i < cols; i++) s += (o[i] = gr[i] * yr[i]);
  if (scale == 1.0f) {
    for (int64_t j = 0; j < cols; j++) o[j] = o[j] - s * yr[j];
  } else {
    for (int64_t j = 0; j < cols; j++) o[j] = (o[j] - s * yr[j]) * scale;
  }
}

}  // namespace

void softmax(const float* x, float* y, int64_t rows, int64_t cols) {
  const int nt = threads();
  const bool par = rows * cols >= PAR_MIN && nt > 1 && rows > 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (par)
  for (int64_t r = 0; r < rows; r++) softmax_row(x + r * cols, y + r * cols, cols, 1.0f);
}

void softmax_grad(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  const int nt = threads();
  const bool par = rows * cols >= PAR_MIN && nt > 1 && rows > 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (par)
  for (int64_t r = 0; r < rows; r++) softmax_grad_row(y + r * cols, dy + r * cols, dx + r * cols, cols, 1.0f);
}

// Row r is query position q = r % T: only columns 0..q take part, the rest are exactly 0 (what adding a -Infinity
// mask above the diagonal gives), so the masked half of the matrix is never read.
void causal_softmax(const float* x, float* y, int64_t rows, int64_t T, float scale) {
  const int nt = threads();
  const bool par = rows * T >= PAR_MIN && nt > 1 && rows > 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (par)
  for (int64_t r = 0; r < rows; r++) {
    const int64_t n = r % T + 1;
    float* yr = y + r * T;
    softmax_row(x + r * T, yr, n, scale);
    std::fill(yr + n, yr + T, 0.0f);
  }
}

void causal_softmax_grad(const float* y, const float* dy, float* dx, int64_t rows, int64_t T, float scale) {
  const int nt = threads();
  const bool par = rows * T >= PAR_MIN && nt > 1 && rows > 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (par)
  for (int64_t r = 0; r < rows; r++) {
    const int64_t n = r % T + 1;
    float* o = dx + r * T;
    softmax_grad_row(y + r * T, dy + r * T, o, n, scale);
    std::fill(o + n, o + T, 0.0f);
  }
}

// Cross-entropy rows: p = softmax(x), nll = logsumexp(x) - x[t] (0 where t = -1, ignored). Rows split over threads.
int64_t softmax_xent(const float* x, const int32_t* t, float* p, float* nll, int64_t rows, int64_t V) {
  for (int64_t r = 0; r < rows; r++) {
    if (t[r] < -1 || t[r] >= V) return r;  // checked before anything is written
  }
  const int nt = threads();
  const bool par = rows * V >= PAR_MIN && nt > 1 && rows > 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (par)
  for (int64_t r = 0; r < rows; r++) {
    const float lse = softmax_row(x + r * V, p + r * V, V, 1.0f);
    nll[r] = t[r] < 0 ? 0.0f : lse - x[r * V + t[r]];
  }
  return -1;
}

// Its gradient: dx = (p - onehot(t)) * coef[row], the target entry computed as (p[t] - 1) * coef like the composite.
void softmax_xent_grad(const float* p, const int32_t* t, const float* coef, float* dx, int64_t rows, int64_t V) {
  const int nt = threads();
  const bool par = rows * V >= PAR_MIN && nt > 1 && rows > 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (par)
  for (int64_t r = 0; r < rows; r++) {
    const float* pr = p + r * V;
    float* o = dx + r * V;
    const vf c = vsplat(coef[r]);
    int64_t j = 0;
    for (; j + VL <= V; j += VL) vstore(o + j, vload(pr + j) * c);
    for (; j < V; j++) o[j] = pr[j] * coef[r];
    if (t[r] >= 0) o[t[r]] = (pr[t[r]] - 1.0f) * coef[r];
  }
}

}  // namespace ink
