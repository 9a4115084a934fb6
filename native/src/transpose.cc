// y = x.transpose(perm), float32, any rank. Dims that stay adjacent are merged first, so the common cases become
// (a) chunk copies when the last axis stays last (the attention head split/merge (B,T,nh,hs) <-> (B,nh,T,hs)),
// (b) tiled 2-D transposes, batched or not ((N,C) -> (C,N)), and (c) a generic strided walk otherwise.
#include <omp.h>
#include <algorithm>
#include <cstring>
#include <vector>
#include "kernels.h"

namespace ink {

namespace {

constexpr int64_t PAR_MIN = 200000;  // below: one thread (a team wake-up and barrier cost more)
constexpr int64_t TILE = 32;

void transpose2d(const float* x, float* y, int64_t R, int64_t C) {  // x (R, C) -> y (C, R)
  for (int64_t i0 = 0; i0 < R; i0 += TILE) {
    const int64_t i1 = std::min(R, i0 + TILE);
    for (int64_t j0 = 0; j0 < C; j0 += TILE) {
      const int64_t j1 = std::min(C, j0 + TILE);
      for (int64_t j = j0; j < j1; j++) {
        for (int64_t i = i0; i < i1; i++) y[j * R + i] = x[i * C + j];
      }
    }
  }
}

}  // namespace

void transpose(const float* x, float* y, int rank, const int64_t* shape, const int* perm) {
  int64_t total = 1;
  for (int d = 0; d < rank; d++) total *= shape[d];
  if (total == 0) return;
  // Merge: output axes k, k+1 whose input axes are perm[k], perm[k]+1 form one axis. Size-1 axes are dropped.
  std::vector<int64_t> inShape;   // merged input shape (in input order)
  std::vector<int> newPerm;
  {
    std::vector<int> keep;  // input axes with size > 1
    for (int d = 0; d < rank; d++) if (shape[d] != 1) keep.push_back(d);
    std::vector<int> p;  // output order over kept axes
    for (int k = 0; k < rank; k++) if (shape[perm[k]] != 1) p.push_back(perm[k]);
    // groups of consecutive input axes in output order
    std::vector<std::vector<int>> groups;
    for (size_t k = 0; k < p.size(); k++) {
      if (!groups.empty()) {
        int last = groups.back().back();
        // next kept input axis after `last`
        auto it = std::find(keep.begin(), keep.end(), last);
        if (it + 1 != keep.end() && *(it + 1) == p[k]) {
          groups.back().push_back(p[k]);
          continue;
        }
      }
      groups.push_back({p[k]});
    }
    // order groups by their first input axis to get the merged input shape
    std::vector<int> order(groups.size());
    for (size_t g = 0; g < groups.size(); g++) order[g] = static_cast<int>(g);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return groups[a][0] < groups[b][0]; });
    std::vector<int> posInInput(groups.size());
    for (size_t q = 0; q < order.size(); q++) posInInput[order[q]] = static_cast<int>(q);
    inShape.resize(groups.size());
    for (size_t g = 0; g < groups.size(); g++) {
      int64_t s = 1;
      for (int a : groups[g]) s *= shape[a];
      inShape[posInInput[g]] = s;
    }
    newPerm.resize(groups.size());
    for (size_t g = 0; g < groups.size(); g++) newPerm[g] = posInInput[g];
  }
  const int r = static_cast<int>(inShape.size());
  const int nt = threads();
  const bool par = total >= PAR_MIN && nt > 1;
  bool identity = true;
  for (int k = 0; k < r; k++) identity = identity && newPerm[k] == k;
  if (identity) {
    std::memcpy(y, x, sizeof(float) * total);
    return;
  }
  std::vector<int64_t> inStride(r);
  {
    int64_t s = 1;
    for (int d = r - 1; d >= 0; d--) { inStride[d] = s; s *= inShape[d]; }
  }
  std::vector<int64_t> outShape(r), srcStride(r);
  for (int k = 0; k < r; k++) { outShape[k] = inShape[newPerm[k]]; srcStride[k] = inStride[newPerm[k]]; }

  // (b) batched 2-D transpose: perm = [.., last, second-to-last] after merging, i.e. (Bt, R, C) -> (Bt, C, R).
  if (r >= 2 && newPerm[r - 1] == r - 2 && newPerm[r - 2] == r - 1) {
    bool leadingIdentity = true;
    for (int k = 0; k < r - 2; k++) leadingIdentity = leadingIdentity && newPerm[k] == k;
    if (leadingIdentity) {
      const int64_t R = inShape[r - 2], C = inShape[r - 1];
      const int64_t Bt = total / (R * C);
      if (Bt >= nt || !par) {
#pragma omp parallel for schedule(static) num_threads(nt) if (par)
        for (int64_t b = 0; b < Bt; b++) transpose2d(x + b * R * C, y + b * R * C, R, C);
      } else {
        for (int64_t b = 0; b < Bt; b++) {
          const float* xb = x + b * R * C;
          float* yb = y + b * R * C;
          // split the output rows (input columns) across threads in whole tiles
          const int64_t nTiles = (C + TILE - 1) / TILE;
#pragma omp parallel for schedule(static) num_threads(nt)
          for (int64_t tj = 0; tj < nTiles; tj++) {
            const int64_t j0 = tj * TILE, j1 = std::min(C, j0 + TILE);
            for (int64_t i0 = 0; i0 < R; i0 += TILE) {
              const int64_t i1 = std::min(R, i0 + TILE);
              for (int64_t j = j0; j < j1; j++)
                for (int64_t i = i0; i < i1; i++) yb[j * R + i] = xb[i * C + j];
            }
          }
        }
      }
      return;
    }
  }
  // (a) and (c): walk the output in rows of its last axis; rows are independent, so threads split them.
  const int64_t L = outShape[r - 1];
  const int64_t rows = total / L;
  const bool chunk = newPerm[r - 1] == r - 1;  // last axis stays last: srcStride = 1
  const int64_t ls = srcStride[r - 1];
#pragma omp parallel num_threads(nt) if (par)
  {
    const int T = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t r0 = rows * t / T, r1 = rows * (t + 1) / T;
    if (r0 < r1) {
      std::vector<int64_t> idx(r, 0);
      int64_t rem = r0, off = 0;
      for (int d = r - 2; d >= 0; d--) {
        idx[d] = rem % outShape[d];
        rem /= outShape[d];
        off += idx[d] * srcStride[d];
      }
      for (int64_t q = r0; q < r1; q++) {
        float* o = y + q * L;
        if (chunk) std::memcpy(o, x + off, sizeof(float) * L);
        else for (int64_t j = 0; j < L; j++) o[j] = x[off + j * ls];
        for (int d = r - 2; d >= 0; d--) {
          idx[d]++;
          off += srcStride[d];
          if (idx[d] < outShape[d]) break;
          off -= srcStride[d] * outShape[d];
          idx[d] = 0;
        }
      }
    }
  }
}

}  // namespace ink
