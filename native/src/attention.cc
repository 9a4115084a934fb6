// Causal self-attention core straight from the fused qkv projection, forward and backward, with strided sgemm calls:
// q, k and v are read where c_attn wrote them (row stride 3C) and the output is written heads side by side (row
// stride C), so the split, the six head transposes and the concat of the gradient never happen.
// Per (batch b, head h), with Q, K, V the (T, hs) column blocks h of qkv's three thirds:
//   forward:  S = Q Kᵀ;  P = causal_softmax(scale S);  Z = P V            (P is kept for the backward)
//   backward: dP = dZ Vᵀ; dS = scale · softmax_grad(P, dP); dQ = dS K; dK = dSᵀ Q; dV = Pᵀ dZ
// The (b, h) pairs run one per OpenMP thread, each sgemm single-threaded (OpenBLAS's OpenMP build runs serially
// inside a parallel region; with its pthreads build the pairs run one after another instead).
#include <cblas.h>
#include <omp.h>
#include <vector>
#include "kernels.h"

namespace ink {

namespace {
#ifdef INHERITUNE_BLAS_OPENMP
constexpr bool kParallelPairs = true;
#else
constexpr bool kParallelPairs = false;
#endif

inline void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), 1.0f, A, static_cast<int>(lda), B, static_cast<int>(ldb), 0.0f,
              C, static_cast<int>(ldc));
}
}  // namespace

void attention_forward(const float* qkv, float* y, float* p, int64_t B, int64_t T, int64_t nh, int64_t hs,
                       float scale) {
  const int64_t C = nh * hs, ld3 = 3 * C, pairs = B * nh;
  const int nt = threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (kParallelPairs && nt > 1 && pairs > 1)
  for (int64_t i = 0; i < pairs; i++) {
    const int64_t b = i / nh, h = i % nh;
    const float* q = qkv + b * T * ld3 + h * hs;  // (T, hs), row stride 3C; k at +C, v at +2C
    float* P = p + i * T * T;                      // (T, T)
    gemm(false, true, T, T, hs, q, ld3, q + C, ld3, P, T);
    causal_softmax(P, P, T, T, scale);
    gemm(false, false, T, hs, T, P, T, q + 2 * C, ld3, y + b * T * C + h * hs, C);
  }
}

void attention_backward(const float* qkv, const float* p, const float* dy, float* dqkv, int64_t B, int64_t T,
                        int64_t nh, int64_t hs, float scale) {
  const int64_t C = nh * hs, ld3 = 3 * C, pairs = B * nh;
  const int nt = threads();
#pragma omp parallel num_threads(nt) if (kParallelPairs && nt > 1 && pairs > 1)
  {
    std::vector<float> dS(static_cast<size_t>(T * T));  // dP, then dS in place; one per thread
#pragma omp for schedule(static)
    for (int64_t i = 0; i < pairs; i++) {
      const int64_t b = i / nh, h = i % nh;
      const float* q = qkv + b * T * ld3 + h * hs;
      const float* P = p + i * T * T;
      const float* dZ = dy + b * T * C + h * hs;  // (T, hs), row stride C
      float* dq = dqkv + b * T * ld3 + h * hs;     // dk at +C, dv at +2C
      gemm(false, true, T, T, hs, dZ, C, q + 2 * C, ld3, dS.data(), T);  // dP = dZ Vᵀ
      causal_softmax_grad(P, dS.data(), dS.data(), T, T, scale);
      gemm(false, false, T, hs, T, dS.data(), T, q + C, ld3, dq, ld3);      // dQ = dS K
      gemm(true, false, T, hs, T, dS.data(), T, q, ld3, dq + C, ld3);       // dK = dSᵀ Q
      gemm(true, false, T, hs, T, P, T, dZ, C, dq + 2 * C, ld3);            // dV = Pᵀ dZ
    }
  }
}

}  // namespace ink
