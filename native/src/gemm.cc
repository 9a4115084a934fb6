// Batched float32 matrix products through OpenBLAS's cblas_sgemm.
// Parallelism: one big product uses OpenBLAS's own threads; many small ones (attention: B*nh products of T x hs)
// are spread over our OpenMP threads, each calling sgemm single-threaded (OpenBLAS's OpenMP build runs serially
// inside a parallel region). With the pthreads build of OpenBLAS, concurrent calls are avoided altogether.
#include <cblas.h>
#include <omp.h>
#include <algorithm>
#include <cstring>
#include "kernels.h"

namespace ink {

namespace {

void one(const float* A, const float* B, float* C, const float* bias, int64_t M, int64_t N, int64_t K, bool ta,
         bool tb, int act) {
  if (M == 0 || N == 0) return;
  float beta = 0.0f;
  if (bias) {
    for (int64_t i = 0; i < M; i++) std::memcpy(C + i * N, bias, sizeof(float) * N);
    beta = 1.0f;
  }
  if (K == 0) {
    if (!bias) std::memset(C, 0, sizeof(float) * M * N);
  } else {
    // Leading dimensions are the stored row lengths; BLAS wants them >= 1 even for degenerate shapes.
    const int lda = static_cast<int>(std::max<int64_t>(1, ta ? M : K));
    const int ldb = static_cast<int>(std::max<int64_t>(1, tb ? K : N));
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
                static_cast<int>(N), static_cast<int>(K), 1.0f, A, lda, B, ldb, beta, C, static_cast<int>(N));
  }
  if (act == 1) {
    float* c = C;
    const int64_t n = M * N;
    for (int64_t i = 0; i < n; i++) c[i] = c[i] > 0.0f ? c[i] : (c[i] == c[i] ? 0.0f : c[i]);
  }
}

}  // namespace

void gemm_batched(const float* A, const float* B, float* C, const float* bias, int64_t batch, int64_t M, int64_t N,
                  int64_t K, bool transA, bool transB, const int64_t* aOff, const int64_t* bOff, int act) {
  const int64_t outStride = M * N;
  const int nt = threads();
#ifdef INHERITUNE_BLAS_OPENMP
  const double flopsEach = 2.0 * M * N * K;
  // Small products: one per thread is cheaper than splitting each product across threads.
  const bool acrossBatch = nt > 1 && batch >= nt && flopsEach < 3.0e7;
#else
  const bool acrossBatch = false;
#endif
  if (acrossBatch) {
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t i = 0; i < batch; i++) {
      one(A + aOff[i], B + bOff[i], C + i * outStride, bias, M, N, K, transA, transB, act);
    }
  } else {
    for (int64_t i = 0; i < batch; i++) {
      one(A + aOff[i], B + bOff[i], C + i * outStride, bias, M, N, K, transA, transB, act);
    }
  }
}

void gemm_pair(const GemmSpec& g1, const GemmSpec& g2) {
#ifdef INHERITUNE_BLAS_OPENMP
  const bool together = threads() == 2;
#else
  const bool together = false;
#endif
  if (together) {
#pragma omp parallel sections num_threads(2)
    {
#pragma omp section
      one(g1.A, g1.B, g1.C, nullptr, g1.M, g1.N, g1.K, g1.transA, g1.transB, 0);
#pragma omp section
      one(g2.A, g2.B, g2.C, nullptr, g2.M, g2.N, g2.K, g2.transA, g2.transB, 0);
    }
  } else {
    one(g1.A, g1.B, g1.C, nullptr, g1.M, g1.N, g1.K, g1.transA, g1.transB, 0);
    one(g2.A, g2.B, g2.C, nullptr, g2.M, g2.N, g2.K, g2.transA, g2.transB, 0);
  }
}

}  // namespace ink
