// Native float32 kernels behind the tfjs wasm backend. All pointers point into the wasm heap (zero-copy views);
// shapes are row-major. Every function is synchronous and parallelised with OpenMP over the current thread count.
#pragma once
#include <cstdint>

namespace ink {

void set_threads(int n);
int threads();

// ---- gemm.cc ------------------------------------------------------------------------------------------------------
// C[i] = op(A[aOff[i]]) @ op(B[bOff[i]]) (+ bias[N] per row) for i < batch; C is (batch, M, N) contiguous.
// op(A) is (M, K): A is stored (M, K), or (K, M) when transA. op(B) is (K, N): B is (K, N), or (N, K) when transB.
// aOff/bOff are element offsets per batch entry (broadcasting = repeated offsets). act: 0 none, 1 relu.
void gemm_batched(const float* A, const float* B, float* C, const float* bias, int64_t batch, int64_t M, int64_t N,
                  int64_t K, bool transA, bool transB, const int64_t* aOff, const int64_t* bOff, int act);

// Two products at once: C1 = op(A1) @ op(B1) and C2 = op(A2) @ op(B2) (shapes as gemm_batched, batch 1, no bias).
// With 2 threads and OpenBLAS's OpenMP build they run concurrently, one thread each: on the small products of a
// Linear backward (dx and dW) that beats running each on both threads one after the other (bench/native.ts).
struct GemmSpec {
  const float* A;
  const float* B;
  float* C;
  int64_t M, N, K;
  bool transA, transB;
};
void gemm_pair(const GemmSpec& g1, const GemmSpec& g2);

// ---- elementwise.cc -----------------------------------------------------------------------------------------------
enum Unary { U_TANH = 0, U_EXP, U_NEG, U_SQRT, U_RSQRT, U_SQUARE, U_RELU, U_SIGMOID, U_ABS, U_RECIPROCAL, U_LOG };
void unary(int op, const float* x, float* y, int64_t n);

enum Binary { B_ADD = 0, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_SQDIFF, B_TAKE_B };  // B_TAKE_B: broadcast copy of b
// out = a op b with numpy broadcasting; shapes are given already right-aligned to `rank` dims (size-1 padded).
void binary(int op, const float* a, const float* b, float* out, int rank, const int64_t* aShape,
            const int64_t* bShape, const int64_t* outShape);

// ---- reduce.cc ----------------------------------------------------------------------------------------------------
enum Reduce { R_SUM = 0, R_MEAN, R_MAX, R_MIN };
// x viewed as (pre, red, post); out is (pre, post).
void reduce(int op, const float* x, float* out, int64_t pre, int64_t red, int64_t post);
// Softmax over the last axis of x viewed as (rows, cols).
void softmax(const float* x, float* y, int64_t rows, int64_t cols);
// Softmax backward, as tfjs's gradient: t = dy*y; dx = t - sum(t over the row)*y.
void softmax_grad(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols);
// Causal attention softmax over (rows, T) with row r the query r % T: y = softmax(scale * x) over columns <= r % T,
// exactly 0 beyond (as a -Infinity mask gives). The backward is softmax_grad times scale, 0 beyond the diagonal.
void causal_softmax(const float* x, float* y, int64_t rows, int64_t T, float scale);
void causal_softmax_grad(const float* y, const float* dy, float* dx, int64_t rows, int64_t T, float scale);
// Softmax cross-entropy over rows of length V: p = softmax(x), nll[r] = logsumexp(x[r]) - x[r, t[r]], 0 where t[r] = -1
// (ignored). Returns -1, or the first row whose target is outside [-1, V) (then nothing is written).
int64_t softmax_xent(const float* x, const int32_t* t, float* p, float* nll, int64_t rows, int64_t V);
// dx = (p - onehot(t)) * coef[row] (rows with t = -1 have no onehot term).
void softmax_xent_grad(const float* p, const int32_t* t, const float* coef, float* dx, int64_t rows, int64_t V);
// Tanh backward, as tfjs's gradient: dx = (1 - y*y) * dy.
void tanh_grad(const float* y, const float* dy, float* dx, int64_t n);

// ---- transpose.cc -------------------------------------------------------------------------------------------------
// y = x.transpose(perm); x has shape `shape` (rank dims).
void transpose(const float* x, float* y, int rank, const int64_t* shape, const int* perm);

// ---- copy.cc (4-byte elements: float32 or int32 reinterpreted) ------------------------------------------------------
// y = x[begin : begin + size] (n-d).
void slice(const float* x, float* y, int rank, const int64_t* shape, const int64_t* begin, const int64_t* size);
// y (pre, sum inners) = concatenation of xs[i] viewed as (pre, inners[i]).
void concat(const float* const* xs, const int64_t* inners, int n, float* y, int64_t pre);
// y (pre, nIdx, post) = x (pre, axisLen, post) gathered at idx along the middle axis. Returns -1, or the position of
// the first index outside [0, axisLen) (then nothing is written).
int64_t gather(const float* x, const int32_t* idx, float* y, int64_t pre, int64_t axisLen, int64_t post, int64_t nIdx);

// ---- svd.cc -------------------------------------------------------------------------------------------------------
// Singular values (descending) of `count` row-major float64 matrices (rows x cols) packed in A; S holds
// count * min(rows, cols). Returns 0, or the first non-zero LAPACK info.
int singular_values(const double* A, double* S, int64_t count, int rows, int cols);

// ---- fused.cc -----------------------------------------------------------------------------------------------------
// tanh GELU y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) and its derivative times dy.
void gelu(const float* x, float* y, int64_t n);
void gelu_grad(const float* x, const float* dy, float* dx, int64_t n);
// Exact (erf) GELU y = 0.5 x (1 + erf(x / sqrt 2)), nn.GELU() of current nanoGPT, and its derivative times dy.
void gelu_exact(const float* x, float* y, int64_t n);
void gelu_exact_grad(const float* x, const float* dy, float* dx, int64_t n);
// LayerNorm over rows of length C (biased variance); b may be null. Saves mean and rstd = 1/sqrt(var + eps) per row.
void layernorm(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd, int64_t rows,
               int64_t C, float eps);
// Backward: dx, dw = sum over rows of dy * xhat, db = sum over rows of dy (db may be null).
void layernorm_grad(const float* x, const float* w, const float* mean, const float* rstd, const float* dy, float* dx,
                    float* dw, float* db, int64_t rows, int64_t C);

// ---- attention.cc -------------------------------------------------------------------------------------------------
// Causal attention from qkv (B*T, 3C) [q | k | v, heads side by side in each]: y (B*T, C) heads side by side, and
// p (B, nh, T, T) the softmax pattern, kept for the backward. dqkv (B*T, 3C) is fully written.
void attention_forward(const float* qkv, float* y, float* p, int64_t B, int64_t T, int64_t nh, int64_t hs, float scale);
void attention_backward(const float* qkv, const float* p, const float* dy, float* dqkv, int64_t B, int64_t T,
                        int64_t nh, int64_t hs, float scale);

// AdamW as lib/train/adamw.ts (PyTorch's single-tensor path), in the same float32 operation order, into new arrays:
//   pOut = p*decay - (m1 / (sqrt(v1)/bc2Sqrt + eps)) * stepSize,  m1 = m*b1 + g*(1-b1),  v1 = v*b2 + g*g*(1-b2)
// decay = 1 - lr*wd (exactly 1 for parameters that do not decay). Constants come in already rounded to float32.
struct AdamWConsts {
  float decay, beta1, oneMinusBeta1, beta2, oneMinusBeta2, bc2Sqrt, eps, stepSize;
};
void adamw(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut,
           int64_t n, const AdamWConsts& k);

}  // namespace ink
