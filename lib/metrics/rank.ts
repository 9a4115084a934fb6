// Approximate rank k* and column mass m* of single matrices (reference/paper.md §1.2 and §1.5), in float64.
//
// k*(tau) = min { k : sum_{i<=k} s_i^2 / sum_j s_j^2 >= tau } from the singular values s (descending). This is the
// authors' `svdvals -> energy = s**2 -> cumsum(energy / total) -> searchsorted(cum, tau, side='left') + 1`.
// Singular values come from ml-matrix's SVD (values only, float64; exact to ~1e-14 relative). Never from eig(AᵀA):
// forming AᵀA squares the condition number and gives wrong ranks for nearly collapsed matrices (reference/stack.md §3).
//
// Rounding at exact ties: we sum the *unnormalised* energies and compare the correctly rounded ratio
// cum_k / total with tau. For matrices whose energies are integers (the identity, 0/1 patterns) this decides
// ties exactly (identity T×T gives ceil(tau·T)), where a cumulative sum of normalised shares can drift one ulp
// below tau and return k+1. Away from exact ties the two agree; random or trained attention has no exact ties.
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { nativeSingularValues } from '../backend/native';

/** Checks dimensions and that every entry is finite; `what` names the matrix in the error message. */
export function validateMatrix(A: ArrayLike<number>, rows: number, cols: number, what = 'matrix'): void {
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(cols) || cols < 1) {
    throw new Error(`${what}: rows (${rows}) and cols (${cols}) must be positive integers`);
  }
  if (A.length !== rows * cols) {
    throw new Error(`${what}: has ${A.length} entries, expected rows*cols = ${rows}*${cols} = ${rows * cols}`);
  }
  for (let i = 0; i < A.length; i++) {
    const v = A[i];
    if (!Number.isFinite(v)) {
      const r = Math.floor(i / cols);
      throw new Error(
        `${what}: entry (${r}, ${i - r * cols}) is ${v}; k* and m* need finite values ` +
          `(NaN in attention usually means a fully masked row or overflowing logits)`,
      );
    }
  }
}

function validateThreshold(t: number, name: string): void {
  if (!(t > 0 && t <= 1)) throw new Error(`${name} (${t}) must be in (0, 1]`);
}

/**
 * Singular values of the row-major rows×cols matrix A, descending, length min(rows, cols), float64.
 * Throws on a shape mismatch or a non-finite entry.
 */
export function singularValues(A: ArrayLike<number>, rows: number, cols: number): Float64Array {
  validateMatrix(A, rows, cols);
  return singularValuesUnchecked(A, rows, cols);
}

function singularValuesUnchecked(A: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const M = new Matrix(rows, cols);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    for (let c = 0; c < cols; c++) M.set(r, c, A[off + c]);
  }
  // autoTranspose: wide matrices are decomposed as their transpose (same singular values, no console warning).
  const svd = new SingularValueDecomposition(M, {
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
    autoTranspose: true,
  });
  const s = Float64Array.from(svd.diagonal);
  // JAMA's algorithm returns them sorted descending and non-negative; keep that an invariant we rely on.
  for (let i = 0; i < s.length; i++) if (s[i] < 0) s[i] = 0;
  s.sort().reverse();
  return s;
}

/**
 * Singular values of `count` row-major rows×cols matrices packed in A: one Float64Array (descending) per matrix.
 * Uses LAPACK (dgesdd, through the native addon, one matrix per thread; ~30x faster than ml-matrix at T=100) when it is
 * built, else singularValues() per matrix; both agree to ~1e-12 of s_max (test/backend/native-ops.test.ts).
 * `what(i)` names matrix i in error messages.
 */
export function singularValuesBatch(A: Float64Array, count: number, rows: number, cols: number, what: (i: number) => string = (i) => `matrix ${i}`): Float64Array[] {
  const size = rows * cols;
  if (A.length !== count * size) throw new Error(`singularValuesBatch: A has ${A.length} values, expected ${count}*${rows}*${cols}`);
  for (let i = 0; i < count; i++) validateMatrix(A.subarray(i * size, (i + 1) * size), rows, cols, what(i));
  const k = Math.min(rows, cols);
  const packed = count > 0 ? nativeSingularValues(A, count, rows, cols) : undefined;
  const out: Float64Array[] = [];
  for (let i = 0; i < count; i++) {
    if (!packed) {
      out.push(singularValuesUnchecked(A.subarray(i * size, (i + 1) * size), rows, cols));
      continue;
    }
    const s = packed.slice(i * k, (i + 1) * k);
    for (let j = 0; j < k; j++) if (s[j] < 0) s[j] = 0;
    out.push(s);
  }
  return out;
}

/**
 * Smallest k with sum_{i<=k} s_i^2 / sum_j s_j^2 >= tau, for singular values s (any order; sorted here).
 * Returns 0 when all s are zero (the authors' code does the same: `if energy.sum() == 0: return 0`).
 * If rounding leaves the full sum a hair below tau (possible only for tau = 1) the answer is s.length.
 * Reuse one SVD for a tau sweep by calling this with several taus.
 */
export function approxRankFromSingularValues(s: ArrayLike<number>, tau = 0.9): number {
  validateThreshold(tau, 'tau');
  return firstIndexReaching(squaresSortedDesc(s, 'singular values'), tau);
}

/** k*(tau) of a row-major T×T matrix (paper eq. 2). 0 for the all-zero matrix. */
export function approxRank(A: ArrayLike<number>, T: number, tau = 0.9): number {
  validateThreshold(tau, 'tau');
  return approxRankFromSingularValues(singularValues(A, T, T), tau);
}

/** k* at several thresholds from one SVD; returns one k* per tau, in the order given. */
export function approxRanks(A: ArrayLike<number>, T: number, taus: readonly number[]): number[] {
  const s = singularValues(A, T, T);
  return taus.map((tau) => approxRankFromSingularValues(s, tau));
}

export type ColumnOrder = 'sorted' | 'index';

/**
 * m*(eta) of a row-major T×T matrix (paper App. C): the number of columns needed to hold a share eta of ‖A‖_F²,
 * where column j holds ‖A_{·,j}‖². order 'sorted' (default, the minimal number of columns the text describes)
 * takes columns by mass, largest first; 'index' takes them left to right, j = 1..m, as the formula is written.
 * With a first-token sink both give 1. Returns 0 for the all-zero matrix.
 */
export function columnMass(A: ArrayLike<number>, T: number, eta = 0.9, order: ColumnOrder = 'sorted'): number {
  validateThreshold(eta, 'eta');
  validateMatrix(A, T, T);
  const mass = columnSquaredNorms(A, T, T);
  if (order === 'sorted') mass.sort().reverse();
  else if (order !== 'index') throw new Error(`column order '${order}' is not one of: sorted, index`);
  return firstIndexReaching(mass, eta);
}

/** The index-order variant of columnMass (columns j = 1..m, the formula as printed in paper App. C). */
export function columnMassIndexOrder(A: ArrayLike<number>, T: number, eta = 0.9): number {
  return columnMass(A, T, eta, 'index');
}

/** ‖A_{·,j}‖² for each column j of a row-major rows×cols matrix. */
export function columnSquaredNorms(A: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    for (let c = 0; c < cols; c++) out[c] += A[off + c] * A[off + c];
  }
  return out;
}

function squaresSortedDesc(s: ArrayLike<number>, what: string): Float64Array {
  const e = new Float64Array(s.length);
  for (let i = 0; i < s.length; i++) {
    if (!Number.isFinite(s[i])) throw new Error(`${what}: entry ${i} is ${s[i]}, expected finite values`);
    e[i] = s[i] * s[i];
  }
  return e.sort().reverse();
}

/** 1-based count of leading entries of `w` (non-negative) whose running sum reaches share `t` of the total. */
function firstIndexReaching(w: Float64Array, t: number): number {
  let total = 0;
  for (let i = 0; i < w.length; i++) total += w[i];
  if (total === 0) return 0;
  let cum = 0;
  for (let i = 0; i < w.length; i++) {
    cum += w[i];
    if (cum / total >= t) return i + 1;
  }
  return w.length;
}
