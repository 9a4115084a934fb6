"""Fits the polynomial coefficients of the native exact-GELU kernel's erf/erfc (native/src/vmath.h) and checks the
float32 evaluation of the whole scheme against mpmath (40 digits). numpy + mpmath; prints the coefficients as float32
literals and the worst errors. Not run by the tests: its output was pasted into vmath.h once.

  erf(a)  = a P(a^2)            |a| < 1,  P fits erf(a)/a on s = a^2 in [0, 1]          (degree 6)
  erfc(a) = t exp(-a^2) R(t)    a >= 0,   t = 2/(2 + a),  R fits erfc(a) exp(a^2) / t on t in [0.15, 1]     (degree 8)
with a = |x| / sqrt 2 for the GELU at x, and exp(-a^2) = exp(-x^2 / 2) taken from x split into 12 + 12 bits:
exp(-xh^2/2) (exact argument) times exp((xh - x)(xh + x)/2) by its Taylor polynomial to degree 5 (|argument| < 0.15).
One exp per element, forward and backward.
"""
import numpy as np
import mpmath as mp

mp.mp.dps = 40
f32 = np.float32


def cheb_nodes(lo, hi, n):
    return np.cos(np.linspace(0, np.pi, n)) * (hi - lo) / 2 + (hi + lo) / 2


def erf_over_a(s):
    return float(mp.erf(mp.sqrt(s)) / mp.sqrt(s)) if s > 0 else float(2 / mp.sqrt(mp.pi))


def r_of_t(t):
    a = mp.mpf(2) / mp.mpf(t) - 2
    return float(mp.erfc(a) * mp.exp(a * a) / mp.mpf(t))


def fit(f, lo, hi, deg):
    x = cheb_nodes(lo, hi, 1500)
    y = np.array([f(v) for v in x])
    c = np.polynomial.chebyshev.Chebyshev.fit(x, y, deg, domain=[0, 1]).convert(kind=np.polynomial.Polynomial).coef
    return c.astype(f32)


def horner(c, x):
    p = np.full_like(x, c[-1])
    for k in range(len(c) - 2, -1, -1):
        p = p * x + c[k]
    return p


def cut12(a):
    return (a.view(np.int32) & np.int32(-4096)).view(f32)


def exp_small(e):
    """exp(e) for |e| < 0.15 by Taylor to degree 5 (remainder < 2e-8 relative)."""
    return f32(1) + e * (f32(1) + e * (f32(0.5) + e * (f32(1 / 6) + e * (f32(1 / 24) + e * f32(1 / 120)))))


def gelu_parts(x, p, r):
    """1 + erf(x / sqrt 2) and exp(-x^2 / 2) as native/src/vmath.h computes them, in float32."""
    ax = np.minimum(np.abs(x), f32(17))
    xh = cut12(ax)  # 12 significant bits: xh * xh is exact
    gauss = np.exp(f32(-0.5) * (xh * xh)) * exp_small(f32(0.5) * ((xh - ax) * (xh + ax)))
    a = ax * f32(0.7071067811865476)
    t = f32(2) / (a + f32(2))
    ec = (t * gauss) * horner(r, t)
    small = f32(1) + a * horner(p, a * a)
    return np.where(x < 0, ec, np.where(a < 1, small, f32(2) - ec)), gauss


def main():
    p = fit(erf_over_a, 0.0, 1.0, 6)
    r = fit(r_of_t, 0.15, 1.0, 8)
    print('P (erf(a)/a, s^0 first):', ', '.join(f'{v:.8e}f' for v in p))
    print('R (t^0 first):', ', '.join(f'{v:.8e}f' for v in r))
    x = np.linspace(-13, 13, 26001).astype(f32)
    cdf2, gauss = gelu_parts(x, p, r)
    xs = [mp.mpf(float(v)) for v in x]
    ref = np.array([float(mp.erfc(-v / mp.sqrt(2))) for v in xs])  # 1 + erf(x / sqrt 2), without cancellation
    print('1 + erf(x / sqrt 2), x in [-13, 13]: max rel err', np.max(np.abs(cdf2.astype(np.float64) / ref - 1)))
    ref = np.array([float(mp.exp(-v * v / 2)) for v in xs])
    print('exp(-x^2 / 2): max rel err', np.max(np.abs(gauss.astype(np.float64) / ref - 1)))


if __name__ == '__main__':
    main()
