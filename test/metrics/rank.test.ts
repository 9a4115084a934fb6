// k* and m* on single matrices against closed forms and an independent eigenvalue computation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  approxRank,
  approxRankFromSingularValues,
  approxRanks,
  columnMass,
  columnMassIndexOrder,
  singularValues,
  singularValuesBatch,
} from '../../lib/metrics/rank';
import { Rng } from '../../lib/util/rng';

const TAUS_PCT = [80, 85, 90, 95];

function identity(T: number): Float64Array {
  const A = new Float64Array(T * T);
  for (let i = 0; i < T; i++) A[i * T + i] = 1;
  return A;
}

function sink(T: number, col = 0): Float64Array {
  const A = new Float64Array(T * T);
  for (let i = 0; i < T; i++) A[i * T + col] = 1;
  return A;
}

/** Row i = 1/(i+1) on j <= i (0-based): the causal attention of a head with constant logits. */
function uniformCausal(T: number): Float64Array {
  const A = new Float64Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) A[i * T + j] = 1 / (i + 1);
  return A;
}

test('identity T×T: k* = ceil(tau·T) for every T up to 130 and tau in {0.80, 0.85, 0.90, 0.95}', () => {
  for (let T = 1; T <= 130; T += T < 20 ? 1 : 7) {
    const s = singularValues(identity(T), T, T);
    for (const p of TAUS_PCT) {
      const expected = Math.floor((p * T + 99) / 100); // ceil(p·T/100) in integer arithmetic
      assert.equal(approxRankFromSingularValues(s, p / 100), expected, `T=${T} tau=${p / 100}`);
    }
  }
  assert.equal(approxRank(identity(100), 100), 90);
});

test('rank-1 sink (all mass on column 0): k* = 1 and m* = 1 in both column orders', () => {
  for (const T of [1, 5, 100]) {
    assert.equal(approxRank(sink(T), T, 0.9), 1);
    assert.equal(approxRank(sink(T), T, 0.99), 1);
    assert.equal(columnMass(sink(T), T, 0.9), 1);
    assert.equal(columnMassIndexOrder(sink(T), T, 0.9), 1);
  }
  // σ1 = ‖1‖ = sqrt(T), the only non-zero singular value.
  const s = singularValues(sink(16), 16, 16);
  assert.ok(Math.abs(s[0] - 4) < 1e-13 && s[1] < 1e-13, `singular values ${s.slice(0, 3)}`);
});

test('a sink on column 3: sorted m* = 1, index-order m* = 4 (the two readings of paper App. C differ)', () => {
  assert.equal(columnMass(sink(10, 3), 10, 0.9), 1);
  assert.equal(columnMass(sink(10, 3), 10, 0.9, 'index'), 4);
});

test('column mass of the identity: every column holds 1/T, so m* = ceil(eta·T) in both orders', () => {
  assert.equal(columnMass(identity(50), 50, 0.9), 45);
  assert.equal(columnMassIndexOrder(identity(50), 50, 0.9), 45);
});

// Independent reference for the uniform causal matrix L = D·C (D = diag(1/(i+1)), C = lower all-ones).
// Its inverse B = C⁻¹·D⁻¹ is lower bidiagonal with integers: B_ii = i+1, B_{i,i-1} = -i. So σ_k(L) = 1/σ(B), and
// σ(B)² are the eigenvalues of the integer tridiagonal K = BᵀB: K_jj = 2(j+1)² (j < T-1), K_{T-1,T-1} = T²,
// K_{j,j+1} = -(j+1)(j+2). We get them by Sturm-sequence bisection, an algorithm unrelated to the Golub-Kahan SVD
// under test, and check the trace identity Σσ² = ‖L‖_F² = Σ_i (i+1)/(i+1)² = H_T (harmonic number).
function sturmEigenvalues(diag: Float64Array, off: Float64Array): Float64Array {
  const n = diag.length;
  const countBelow = (x: number) => {
    let c = 0;
    let q = 1;
    for (let i = 0; i < n; i++) {
      q = diag[i] - x - (i > 0 ? (off[i - 1] * off[i - 1]) / q : 0);
      if (q === 0) q = -1e-300;
      if (q < 0) c++;
    }
    return c;
  };
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const r = (i > 0 ? Math.abs(off[i - 1]) : 0) + (i < n - 1 ? Math.abs(off[i]) : 0);
    lo = Math.min(lo, diag[i] - r);
    hi = Math.max(hi, diag[i] + r);
  }
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let a = lo;
    let b = hi;
    for (let it = 0; it < 200 && b - a > 1e-15 * Math.max(1, Math.abs(a) + Math.abs(b)); it++) {
      const m = (a + b) / 2;
      if (countBelow(m) > k) b = m;
      else a = m;
    }
    out[k] = (a + b) / 2; // k-th smallest eigenvalue
  }
  return out;
}

function uniformCausalReference(T: number): Float64Array {
  const diag = new Float64Array(T);
  const off = new Float64Array(Math.max(0, T - 1));
  for (let j = 0; j < T; j++) diag[j] = j < T - 1 ? 2 * (j + 1) ** 2 : T * T;
  for (let j = 0; j < T - 1; j++) off[j] = -(j + 1) * (j + 2);
  const mu = sturmEigenvalues(diag, off); // ascending, so σ(L) = 1/sqrt(mu) is descending
  return mu.map((m) => 1 / Math.sqrt(m));
}

test('uniform causal matrix: singular values and k* match the bidiagonal-inverse reference (T = 30, 100)', () => {
  for (const T of [30, 100]) {
    const ref = uniformCausalReference(T);
    let harmonic = 0;
    for (let i = 1; i <= T; i++) harmonic += 1 / i;
    const refEnergy = ref.reduce((a, s) => a + s * s, 0);
    assert.ok(Math.abs(refEnergy - harmonic) < 1e-10 * harmonic, `trace identity: ${refEnergy} vs H_T ${harmonic}`);

    const s = singularValues(uniformCausal(T), T, T);
    for (let i = 0; i < T; i++) assert.ok(Math.abs(s[i] - ref[i]) <= 1e-10 * ref[0], `T=${T} σ${i}: ${s[i]} vs ${ref[i]}`);

    for (const p of TAUS_PCT) {
      const tau = p / 100;
      let cum = 0;
      let k = 0;
      for (let i = 0; i < T && !k; i++) {
        cum += ref[i] * ref[i];
        if (cum / refEnergy >= tau) k = i + 1;
      }
      // The comparison only means something if the reference is not on a knife edge.
      let c2 = 0;
      for (let i = 0; i < T; i++) {
        c2 += ref[i] * ref[i];
        assert.ok(Math.abs(c2 / refEnergy - tau) > 1e-9, `T=${T} tau=${tau}: reference cumsum too close to tau`);
      }
      assert.equal(approxRank(uniformCausal(T), T, tau), k, `T=${T} tau=${tau}`);
    }
  }
  // For the record (and the notebook): the uniform causal head at T = 100 is far from collapsed.
  assert.ok(approxRank(uniformCausal(100), 100, 0.9) > 1);
});

test('random low-rank products U (T×r) V (r×T): k* <= r, and singular values beyond r vanish', () => {
  const rng = new Rng(7);
  for (const [T, r] of [[40, 1], [40, 3], [64, 8], [100, 20]]) {
    const U = Array.from({ length: T * r }, () => rng.normal());
    const V = Array.from({ length: r * T }, () => rng.normal());
    const A = new Float64Array(T * T);
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) {
      let acc = 0;
      for (let q = 0; q < r; q++) acc += U[i * r + q] * V[q * T + j];
      A[i * T + j] = acc;
    }
    const s = singularValues(A, T, T);
    assert.ok(s[r] < 1e-10 * s[0], `T=${T} r=${r}: σ_{r+1}/σ1 = ${s[r] / s[0]}`);
    for (const p of TAUS_PCT) assert.ok(approxRank(A, T, p / 100) <= r, `T=${T} r=${r} tau=${p / 100}`);
    assert.ok(columnMass(A, T, 0.9) <= T);
  }
});

test('all-zero matrix: k* = 0 and m* = 0 (the authors return 0 when the energy sum is 0)', () => {
  assert.equal(approxRank(new Float64Array(9), 3), 0);
  assert.equal(columnMass(new Float64Array(9), 3), 0);
  assert.equal(approxRankFromSingularValues([0, 0, 0], 0.9), 0);
});

test('singular values: descending, non-negative, shape-correct for wide and tall matrices', () => {
  // [[3, 0], [0, -4]] has singular values 4, 3.
  assert.deepEqual(Array.from(singularValues([3, 0, 0, -4], 2, 2)), [4, 3]);
  const rng = new Rng(3);
  const A = Float64Array.from({ length: 15 }, () => rng.normal()); // 3×5
  const At = new Float64Array(15); // 5×3
  for (let i = 0; i < 3; i++) for (let j = 0; j < 5; j++) At[j * 3 + i] = A[i * 5 + j];
  const s1 = singularValues(A, 3, 5);
  const s2 = singularValues(At, 5, 3);
  assert.equal(s1.length, 3);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(s1[i] - s2[i]) < 1e-13);
  assert.ok(s1[0] >= s1[1] && s1[1] >= s1[2] && s1[2] >= 0);
});

test('approxRankFromSingularValues sorts its input; approxRanks reuses one SVD for a tau sweep', () => {
  assert.equal(approxRankFromSingularValues([1, 3, 2], 0.6), 1); // 9/14 = 0.64
  assert.equal(approxRankFromSingularValues([1, 3, 2], 0.7), 2); // 13/14
  const A = uniformCausal(40);
  const sweep = approxRanks(A, 40, [0.8, 0.9, 0.95]);
  assert.deepEqual(sweep, [0.8, 0.9, 0.95].map((t) => approxRank(A, 40, t)));
  assert.ok(sweep[0] <= sweep[1] && sweep[1] <= sweep[2]);
});

test('NaN or Inf in the matrix is a clear error naming the entry', () => {
  const A = uniformCausal(4);
  A[6] = NaN; // row 1, column 2
  assert.throws(() => approxRank(A, 4), /entry \(1, 2\) is NaN; k\* and m\* need finite values/);
  assert.throws(() => columnMass(A, 4), /entry \(1, 2\) is NaN/);
  A[6] = Infinity;
  assert.throws(() => singularValues(A, 4, 4), /entry \(1, 2\) is Infinity/);
  assert.throws(() => approxRankFromSingularValues([1, NaN], 0.9), /entry 1 is NaN/);
});

test('shape and threshold validation', () => {
  assert.throws(() => approxRank(new Float64Array(10), 3), /has 10 entries, expected rows\*cols = 3\*3 = 9/);
  assert.throws(() => singularValues(new Float64Array(0), 0, 0), /must be positive integers/);
  assert.throws(() => approxRank(identity(3), 3, 0), /tau \(0\) must be in \(0, 1\]/);
  assert.throws(() => approxRank(identity(3), 3, 1.5), /tau \(1.5\) must be in \(0, 1\]/);
  assert.throws(() => columnMass(identity(3), 3, -0.1), /eta \(-0.1\) must be in \(0, 1\]/);
  assert.throws(() => columnMass(identity(3), 3, 0.9, 'random' as never), /column order 'random' is not one of/);
  assert.equal(approxRank(identity(3), 3, 1), 3); // tau = 1 is allowed: the full rank
});

// Runs LAPACK where the addon is built (as in CI) and ml-matrix under INHERITUNE_NATIVE=0.
test('singularValuesBatch (LAPACK when built, else ml-matrix) equals singularValues per matrix, and names a bad one', () => {
  const rng = new Rng(99);
  const T = 23;
  const count = 5;
  const A = new Float64Array(count * T * T);
  for (let i = 0; i < A.length; i++) A[i] = rng.next();
  A.set(identity(T), 2 * T * T); // an exact tie case: k* must stay ceil(tau T)
  const batch = singularValuesBatch(A, count, T, T);
  for (let i = 0; i < count; i++) {
    const ref = singularValues(A.subarray(i * T * T, (i + 1) * T * T), T, T);
    assert.equal(batch[i].length, T);
    for (let j = 0; j < T; j++) assert.ok(Math.abs(batch[i][j] - ref[j]) <= 1e-12 * ref[0], `matrix ${i}, s_${j}: ${batch[i][j]} vs ${ref[j]}`);
    for (const tau of [0.8, 0.9, 0.95]) assert.equal(approxRankFromSingularValues(batch[i], tau), approxRankFromSingularValues(ref, tau));
  }
  assert.equal(approxRankFromSingularValues(batch[2], 0.9), Math.ceil(0.9 * T));
  A[3 * T * T + 5] = NaN;
  assert.throws(() => singularValuesBatch(A, count, T, T, (i) => `head ${i}`), /head 3: entry \(0, 5\) is NaN/);
  assert.throws(() => singularValuesBatch(A, count + 1, T, T), /expected 6\*23\*23/);
});
