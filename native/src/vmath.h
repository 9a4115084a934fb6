// Vectorisable float32 exp and tanh, written with GCC vector extensions so that one source compiles to AVX-512,
// AVX2 or SSE lanes. Accuracy: a few ulp (tests compare with float64 to 2e-6 relative).
//   exp: x = n ln2 + r, |r| <= ln2/2, e^r by its Taylor polynomial to r^7 (remainder < 5e-9), times 2^n built in the
//        exponent bits. 2^n is applied as two factors, so subnormal results are right; -Infinity gives exactly 0.
//   tanh: odd Taylor series to x^15 for |x| < 0.55 (coefficients 2^{2k}(2^{2k}-1)B_{2k}/(2k)!, remainder < 5e-8),
//         1 - 2/(e^{2|x|} + 1) with the sign restored above (no cancellation: tanh >= 0.5 there).
#pragma once
#include <cstdint>
#include <cmath>
#include <cstring>

namespace ink {

constexpr int VL = 16;
typedef float vf __attribute__((vector_size(VL * 4)));
typedef int32_t vi __attribute__((vector_size(VL * 4)));

static inline vf vsplat(float v) { return vf{} + v; }
static inline vf vload(const float* p) { vf r; std::memcpy(&r, p, sizeof r); return r; }
static inline void vstore(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
static inline vf vsqrt(vf x) {  // correctly rounded per lane (sqrtps with -fno-math-errno)
  vf r;
  for (int l = 0; l < VL; l++) r[l] = std::sqrt(x[l]);
  return r;
}
static inline vf vselect(vi mask, vf a, vf b) { return mask ? a : b; }  // lane-wise: mask != 0 ? a : b

static inline vf vexp(vf x) {
  const vf log2e = vsplat(1.44269504088896341f);
  const vf ln2hi = vsplat(0.693359375f);       // ln 2 split so n*ln2hi is exact for |n| < 2^9
  const vf ln2lo = vsplat(-2.12194440e-4f);
  vf xc = x;
  xc = vselect(xc > 88.7228391116729f, vsplat(88.7228391116729f), xc);
  xc = vselect(xc < -104.0f, vsplat(-104.0f), xc);
  vf fn = xc * log2e;
  // round to nearest: add and subtract 1.5 * 2^23
  const vf magic = vsplat(12582912.0f);
  fn = (fn + magic) - magic;
  vf r = xc - fn * ln2hi;
  r = r - fn * ln2lo;
  // e^r = 1 + r + r^2/2! + ... + r^7/7!
  vf p = vsplat(1.0f / 5040);
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^n in two factors 2^n1 * 2^n2 (n in [-150, 128]): each stays a normal float, and the product rounds into
  // the subnormal range or up to FLT_MAX correctly.
  vi n = __builtin_convertvector(fn, vi);
  vi n1 = n >> 1;
  vi n2 = n - n1;
  vi b1 = (n1 + 127) << 23;
  vi b2 = (n2 + 127) << 23;
  vf s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  vf y = (p * s1) * s2;
  y = vselect(x < -104.0f, vsplat(0.0f), y);
  y = vselect(x > 88.7228391116729f, vsplat(__builtin_inff()), y);
  y = vselect(x != x, x, y);  // NaN in, NaN out
  return y;
}

static inline vf vtanh(vf x) {
  vi neg = x < 0.0f;
  vf ax = vselect(neg, -x, x);
  // small |x|: x * (1 + x^2 (c3 + x^2 (c5 + ...)))
  vf z = ax * ax;
  vf p = vsplat(-929569.0f / 638512875.0f);
  p = p * z + 21844.0f / 6081075.0f;
  p = p * z + -1382.0f / 155925.0f;
  p = p * z + 62.0f / 2835.0f;
  p = p * z + -17.0f / 315.0f;
  p = p * z + 2.0f / 15.0f;
  p = p * z + -1.0f / 3.0f;
  vf small = ax + ax * z * p;
  vf e = vexp(ax + ax);
  vf large = 1.0f - 2.0f / (e + 1.0f);
  vf r = vselect(ax < 0.55f, small, large);
  r = vselect(neg, -r, r);
  return vselect(x != x, x, r);
}

// Scalar versions through the same code (for loop tails), so every element gets the same rounding.
static inline float sexp(float v) { vf x = vsplat(v); return vexp(x)[0]; }
static inline float stanh(float v) { vf x = vsplat(v); return vtanh(x)[0]; }

}  // namespace ink
