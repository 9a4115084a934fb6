// Fused model ops for lib/backend/native-ops.ts: tanh GELU and LayerNorm, forward and backward, each one pass
// over memory instead of the 6-25 tfjs kernels of the composite versions. Formulas and operation order follow the
// composites in lib/model/ops.ts, so results agree to float32 rounding.
#include <omp.h>
#include <cmath>
#include <vector>
#include "kernels.h"
#include "vmath.h"

namespace ink {

namespace {
constexpr int64_t PAR_MIN = 200000;
constexpr float GELU_C = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float GELU_A = 0.044715f;
constexpr float INV_SQRT_2PI = 0.3989422804014327f;  // 1/sqrt(2 pi)

template <typename F>
void vec_loop(int64_t n, F body) {  // body(i, count) on whole vectors, then the tail with count < VL
  const int nt = threads();
  const int64_t nv = n / VL;
#pragma omp parallel for schedule(static) num_threads(nt) if (n >= PAR_MIN && nt > 1)
  for (int64_t i = 0; i < nv; i++) body(i * VL, VL);
  if (nv * VL < n) body(nv * VL, n - nv * VL);
}

inline vf load_n(const float* p, int64_t c) {
  if (c == VL) return vload(p);
  float buf[VL] = {0};
  for (int64_t l = 0; l < c; l++) buf[l] = p[l];
  return vload(buf);
}
inline void store_n(float* p, vf v, int64_t c) {
  if (c == VL) return vstore(p, v);
  for (int64_t l = 0; l < c; l++) p[l] = v[l];
}
}  // namespace

void gelu(const float* x, float* y, int64_t n) {
  vec_loop(n, [&](int64_t i, int64_t c) {
    vf v = load_n(x + i, c);
    vf x3 = (v * v) * v;
    vf inner = (v + x3 * GELU_A) * GELU_C;
    store_n(y + i, (v * 0.5f) * (vtanh(inner) + 1.0f), c);
  });
}

void gelu_grad(const float* x, const float* dy, float* dx, int64_t n) {
  vec_loop(n, [&](int64_t i, int64_t c) {
    vf v = load_n(x + i, c);
    vf g = load_n(dy + i, c);
    vf x2 = v * v;
    vf t = vtanh((v + x2 * v * GELU_A) * GELU_C);
    vf dinner = (1.0f + x2 * (3.0f * GELU_A)) * GELU_C;
    vf d = 0.5f * (1.0f + t) + (0.5f * v) * (1.0f - t * t) * dinner;
    store_n(dx + i, g * d, c);
  });
}

// Exact GELU y = 0.5 x (1 + erf(x / sqrt 2)) (PyTorch's nn.GELU(), approximate='none') and its derivative
// dx = dy (0.5 (1 + erf(x / sqrt 2)) + x exp(-x^2 / 2) / sqrt(2 pi)), as PyTorch's GeluBackward computes it.
// erf as in vmath.h: for x < 0 the factor 1 + erf is erfc(|x| / sqrt 2), so the left tail keeps its relative accuracy.
void gelu_exact(const float* x, float* y, int64_t n) {
  vec_loop(n, [&](int64_t i, int64_t c) {
    vf v = load_n(x + i, c);
    vf gauss;
    store_n(y + i, (v * 0.5f) * vgelu_cdf2(v, gauss), c);
  });
}

void gelu_exact_grad(const float* x, const float* dy, float* dx, int64_t n) {
  vec_loop(n, [&](int64_t i, int64_t c) {
    vf v = load_n(x + i, c);
    vf g = load_n(dy + i, c);
    vf gauss;
    vf cdf = 0.5f * vgelu_cdf2(v, gauss);
    store_n(dx + i, g * (cdf + v * (gauss * INV_SQRT_2PI)), c);
  });
}

inline float hsum(vf v) {
  float s = 0.0f;
  for (int l = 0; l < VL; l++) s += v[l];
  return s;
}

void layernorm(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd, int64_t rows,
               int64_t C, float eps) {
  const int nt = threads();
  const int64_t cv = C / VL * VL;  // the vector part of a row; the tail is done one by one
#pragma omp parallel for schedule(static) num_threads(nt) if (rows * C >= PAR_MIN && nt > 1)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    vf acc = vsplat(0.0f);
    for (int64_t j = 0; j < cv; j += VL) acc += vload(xr + j);
    float s = hsum(acc);
    for (int64_t j = cv; j < C; j++) s += xr[j];
    const float m = s / static_cast<float>(C);
    const vf mv = vsplat(m);
    acc = vsplat(0.0f);
    for (int64_t j = 0; j < cv; j += VL) {
      const vf d = vload(xr + j) - mv;
      acc += d * d;
    }
    float v = hsum(acc);
    for (int64_t j = cv; j < C; j++) v += (xr[j] - m) * (xr[j] - m);
    const float rs = 1.0f / std::sqrt(v / static_cast<float>(C) + eps);
    const vf rv = vsplat(rs);
    for (int64_t j = 0; j < cv; j += VL) {
      const vf o = ((vload(xr + j) - mv) * rv) * vload(w + j);
      vstore(yr + j, b ? o + vload(b + j) : o);
    }
    for (int64_t j = cv; j < C; j++) {
      const float o = ((xr[j] - m) * rs) * w[j];
      yr[j] = b ? o + b[j] : o;
    }
    mean[r] = m;
    rstd[r] = rs;
  }
}

void layernorm_grad(const float* x, const float* w, const float* mean, const float* rstd, const float* dy, float* dx,
                    float* dw, float* db, int64_t rows, int64_t C) {
  const int nt = threads();
  const bool par = rows * C >= PAR_MIN && nt > 1;
  const int T = par ? nt : 1;
  const int64_t cv = C / VL * VL;
  // per-thread partial sums of dw and db, added up at the end (fixed order: deterministic)
  std::vector<float> pw(static_cast<size_t>(T) * C, 0.0f), pb(static_cast<size_t>(T) * C, 0.0f);
#pragma omp parallel num_threads(T) if (par)
  {
    const int t = omp_get_thread_num(), nth = omp_get_num_threads();
    const int64_t r0 = rows * t / nth, r1 = rows * (t + 1) / nth;
    float* aw = pw.data() + static_cast<size_t>(t) * C;
    float* ab = pb.data() + static_cast<size_t>(t) * C;
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * C;
      const float* gr = dy + r * C;
      float* o = dx + r * C;
      const float m = mean[r], rs = rstd[r];
      const vf mv = vsplat(m), rv = vsplat(rs);
      vf sgv = vsplat(0.0f), sgxv = vsplat(0.0f);
      for (int64_t j = 0; j < cv; j += VL) {
        const vf xh = (vload(xr + j) - mv) * rv, gy = vload(gr + j), g = gy * vload(w + j);
        sgv += g;
        sgxv += g * xh;
        vstore(aw + j, vload(aw + j) + gy * xh);
        vstore(ab + j, vload(ab + j) + gy);
      }
      float sg = hsum(sgv), sgx = hsum(sgxv);
      for (int64_t j = cv; j < C; j++) {
        const float xh = (xr[j] - m) * rs;
        const float g = gr[j] * w[j];
        sg += g;
        sgx += g * xh;
        aw[j] += gr[j] * xh;
        ab[j] += gr[j];
      }
      const float mg = sg / static_cast<float>(C), mgx = sgx / static_cast<float>(C);
      const vf mgv = vsplat(mg), mgxv = vsplat(mgx);
      for (int64_t j = 0; j < cv; j += VL) {
        const vf xh = (vload(xr + j) - mv) * rv;
        vstore(o + j, rv * (vload(gr + j) * vload(w + j) - mgv - xh * mgxv));
      }
      for (int64_t j = cv; j < C; j++) {
        const float xh = (xr[j] - m) * rs;
        o[j] = rs * (gr[j] * w[j] - mg - xh * mgx);
      }
    }
  }
  for (int64_t j = 0; j < C; j++) {
    float sw = 0.0f, sb = 0.0f;
    for (int t = 0; t < T; t++) {
      sw += pw[static_cast<size_t>(t) * C + j];
      sb += pb[static_cast<size_t>(t) * C + j];
    }
    dw[j] = sw;
    if (db) db[j] = sb;
  }
}

void adamw(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut,
           int64_t n, const AdamWConsts& k) {
  vec_loop(n, [&](int64_t i, int64_t c) {
    vf gv = load_n(g + i, c);
    vf m1 = load_n(m + i, c) * k.beta1 + gv * k.oneMinusBeta1;
    vf v1 = load_n(v + i, c) * k.beta2 + (gv * gv) * k.oneMinusBeta2;
    vf denom = vsqrt(v1) / k.bc2Sqrt + k.eps;
    vf pv = load_n(p + i, c);
    vf decayed = k.decay == 1.0f ? pv : pv * k.decay;
    store_n(mOut + i, m1, c);
    store_n(vOut + i, v1, c);
    store_n(pOut + i, decayed - (m1 / denom) * k.stepSize, c);
  });
}

}  // namespace ink
