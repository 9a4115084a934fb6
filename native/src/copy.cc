// Data movement for 4-byte elements (float32 and int32 alike: memcpy is bit-exact): n-d slices and concatenation.
#include <omp.h>
#include <cstring>
#include <vector>
#include "kernels.h"

namespace ink {

namespace {
constexpr int64_t PAR_MIN = 200000;
}

void slice(const float* x, float* y, int rank, const int64_t* shape, const int64_t* begin, const int64_t* size) {
  int64_t total = 1;
  for (int d = 0; d < rank; d++) total *= size[d];
  if (total == 0) return;
  // Merge trailing axes that are taken whole into the row length.
  int last = rank - 1;
  int64_t rowLen = size[last];
  while (last > 0 && size[last] == shape[last] && begin[last] == 0) {
    last--;
    rowLen *= size[last];
  }
  std::vector<int64_t> stride(rank);
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) { stride[d] = s; s *= shape[d]; }
  int64_t base = 0;
  for (int d = 0; d < rank; d++) base += begin[d] * stride[d];
  const int64_t rows = total / rowLen;
  const int nt = threads();
#pragma omp parallel num_threads(nt) if (total >= PAR_MIN && nt > 1)
  {
    const int T = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t r0 = rows * t / T, r1 = rows * (t + 1) / T;
    if (r0 < r1) {
      // odometer over axes [0, last) of the slice, started at row r0
      std::vector<int64_t> idx(rank, 0);
      int64_t rem = r0, off = base;
      for (int d = last - 1; d >= 0; d--) {
        idx[d] = rem % size[d];
        rem /= size[d];
        off += idx[d] * stride[d];
      }
      for (int64_t q = r0; q < r1; q++) {
        std::memcpy(y + q * rowLen, x + off, sizeof(float) * rowLen);
        for (int d = last - 1; d >= 0; d--) {
          idx[d]++;
          off += stride[d];
          if (idx[d] < size[d]) break;
          off -= stride[d] * size[d];
          idx[d] = 0;
        }
      }
    }
  }
}

void concat(const float* const* xs, const int64_t* inners, int n, float* y, int64_t pre) {
  int64_t sumInner = 0;
  for (int i = 0; i < n; i++) sumInner += inners[i];
  const int nt = threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (pre * sumInner >= PAR_MIN && nt > 1)
  for (int64_t b = 0; b < pre; b++) {
    float* o = y + b * sumInner;
    for (int i = 0; i < n; i++) {
      if (inners[i] == 1) *o = xs[i][b];
      else std::memcpy(o, xs[i] + b * inners[i], sizeof(float) * inners[i]);
      o += inners[i];
    }
  }
}

int64_t gather(const float* x, const int32_t* idx, float* y, int64_t pre, int64_t axisLen, int64_t post, int64_t nIdx) {
  for (int64_t i = 0; i < nIdx; i++) {
    if (idx[i] < 0 || idx[i] >= axisLen) return i;
  }
  const int nt = threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (pre * nIdx * post >= PAR_MIN && nt > 1)
  for (int64_t p = 0; p < pre; p++) {
    for (int64_t i = 0; i < nIdx; i++) {
      std::memcpy(y + (p * nIdx + i) * post, x + (p * axisLen + idx[i]) * post, sizeof(float) * post);
    }
  }
  return -1;
}

}  // namespace ink
