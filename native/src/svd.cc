// Singular values (no vectors) of many small float64 matrices through LAPACK's dgesdd (OpenBLAS ships LAPACK), one
// matrix per thread. Row-major A (rows x cols) is column-major A^T, which has the same singular values.
#include <omp.h>
#include <algorithm>
#include <cstring>
#include <vector>
#include "kernels.h"

extern "C" void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
                        const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork,
                        int* info);

namespace ink {

int singular_values(const double* A, double* S, int64_t count, int rows, int cols) {
  const int m = cols, n = rows, lda = std::max(1, cols);
  const int k = std::min(rows, cols);
  int firstError = 0;
  if (count == 0 || k == 0) return 0;
  const int nt = threads();
#pragma omp parallel num_threads(nt) if (count > 1 && nt > 1)
  {
    std::vector<double> a(static_cast<size_t>(rows) * cols);
    std::vector<int> iwork(8 * static_cast<size_t>(k));
    double dummy = 0;
    int one = 1, lwork = -1, info = 0;
    double query = 0;
    // workspace query once per thread
    dgesdd_("N", &m, &n, a.data(), &lda, S, &dummy, &one, &dummy, &one, &query, &lwork, iwork.data(), &info);
    lwork = static_cast<int>(query) + 1;
    std::vector<double> work(lwork);
#pragma omp for schedule(dynamic, 4)
    for (int64_t i = 0; i < count; i++) {
      std::memcpy(a.data(), A + i * rows * cols, sizeof(double) * rows * cols);
      int inf = 0;
      dgesdd_("N", &m, &n, a.data(), &lda, S + i * k, &dummy, &one, &dummy, &one, work.data(), &lwork, iwork.data(), &inf);
      if (inf != 0) {
#pragma omp critical
        if (firstError == 0) firstError = inf;
      }
    }
  }
  return firstError;
}

}  // namespace ink
