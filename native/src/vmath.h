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

// 1 + erf(x / sqrt 2) and exp(-x^2 / 2) for the exact GELU at x with one exp, a few ulp
// (test/reference/fit_erf_coefficients.py fits the coefficients against mpmath and checks this float32 scheme:
// 4.2e-7 and 2.4e-7 relative on [-13, 13]). With a = |x| / sqrt 2:
//   erf(a)  = a P(a^2)           for a < 1; P fits erf(a)/a on a^2 in [0, 1] (relative error 1.4e-9)
//   erfc(a) = t exp(-a^2) R(t)   t = 2/(2 + a) (Numerical Recipes' erfcc variable); R fits erfc(a) exp(a^2) / t on t in
//                                [0.15, 1], i.e. a <= 11.3 (beyond, erfc is 0 in float), 1.7e-7 relative in float32
//   1 + erf(x / sqrt 2) = erfc(a) for x < 0 (so the left tail keeps its relative accuracy), 1 + erf(a) or 2 - erfc(a)
//   exp(-a^2) = exp(-x^2 / 2) is taken from x, not from the rounded a: x = xh + (x - xh) with xh = x cut to 12
//   significant bits, so -xh^2 / 2 is exact, times exp((xh - x)(xh + x)/2) by Taylor to degree 5 (the argument is
//   below 0.15). Rounding a^2 instead would cost 2 a^2 ulp in the tail (1e-6 relative at x = -6).
// |x| is clamped at 17 (erfc(12) and exp(-144) are 0 in float).
static inline vf vpoly_erf_small(vf s) {  // erf(a)/a at s = a^2
  vf p = vsplat(7.88250618e-05f);
  p = p * s + -8.01886548e-04f;
  p = p * s + 5.18931448e-03f;
  p = p * s + -2.68543307e-02f;
  p = p * s + 1.12835974e-01f;
  p = p * s + -3.76126260e-01f;
  p = p * s + 1.12837911e+00f;
  return p;
}
static inline vf vpoly_erfc_r(vf t) {  // erfc(a) exp(a^2) / t at t = 2/(2 + a)
  vf r = vsplat(-5.88027351e-02f);
  r = r * t + 2.83541501e-01f;
  r = r * t + -4.85628366e-01f;
  r = r * t + 2.76932597e-01f;
  r = r * t + -2.63014883e-02f;
  r = r * t + 2.02738330e-01f;
  r = r * t + 2.43045986e-01f;
  r = r * t + 2.82388747e-01f;
  r = r * t + 2.82085389e-01f;
  return r;
}
static inline vf vcut12(vf a) {  // a with its 12 lowest mantissa bits cleared
  vi b;
  std::memcpy(&b, &a, sizeof b);
  const vi mask = vi{} + static_cast<int32_t>(0xFFFFF000u);
  b = b & mask;
  vf r;
  std::memcpy(&r, &b, sizeof r);
  return r;
}
// Lane-wise m ? a : b by bit operations (m all ones or zero). GCC lowers some `?:` selects of these 16-lane vectors on
// AVX2 to a compare-and-branch per lane, which costs mispredictions on random data; this form stays branch-free.
static inline vf vblend(vi m, vf a, vf b) {
  vi ia, ib;
  std::memcpy(&ia, &a, sizeof ia);
  std::memcpy(&ib, &b, sizeof ib);
  vi r = (ia & m) | (ib & ~m);
  vf out;
  std::memcpy(&out, &r, sizeof out);
  return out;
}
// Lane masks from sign bits (all ones where negative): no vector comparison, which GCC may lower to a compare and
// branch per lane here.
static inline vi vsignmask(vf v) {
  vi b;
  std::memcpy(&b, &v, sizeof b);
  return b >> 31;
}
// Returns 1 + erf(x / sqrt 2); stores exp(-x^2 / 2) in gauss. A NaN x gives some finite value here: the callers
// multiply by x, so NaN still comes out.
static inline vf vgelu_cdf2(vf x, vf& gauss) {
  const vi neg = vsignmask(x);
  vf ax;
  for (int l = 0; l < VL; l++) ax[l] = std::fmin(std::fabs(x[l]), 17.0f);  // vandps + vminps
  vf xh = vcut12(ax);
  vf e = 0.5f * ((xh - ax) * (xh + ax));  // |e| < 0.15
  vf el = 1.0f + e * (1.0f + e * (0.5f + e * (1.0f / 6 + e * (1.0f / 24 + e * (1.0f / 120)))));
  gauss = vexp(-0.5f * (xh * xh)) * el;
  vf a = ax * 0.7071067811865476f;
  vf t = 2.0f / (a + 2.0f);
  vf ec = (t * gauss) * vpoly_erfc_r(t);  // erfc(a)
  vf small = 1.0f + a * vpoly_erf_small(a * a);
  return vblend(neg, ec, vblend(vsignmask(a - 1.0f), small, 2.0f - ec));
}

// Scalar versions through the same code (for loop tails), so every element gets the same rounding.
static inline float sexp(float v) { vf x = vsplat(v); return vexp(x)[0]; }
static inline float stanh(float v) { vf x = vsplat(v); return vtanh(x)[0]; }

}  // namespace ink
