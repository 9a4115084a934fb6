// N-API glue for the training-step kernels: softmax cross-entropy over the vocabulary and paired products.
#include <string>
#include "kernels.h"
#include "napi_util.h"

namespace {

// softmaxXent(x, targets: Int32Array, p, nll, rows, V) -> -1, or the first row whose target is outside [-1, V)
napi_value SoftmaxXentFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 6, [&](size_t argc, napi_value* a) {
    need(argc >= 6, "native.softmaxXent: expected (x, targets, p, nll, rows, V)");
    F32 x = f32(env, a[0], "x"), p = f32(env, a[2], "p"), nll = f32(env, a[3], "nll");
    I32 t = i32(env, a[1], "native.softmaxXent: targets");
    const int64_t rows = num(env, a[4], "rows"), V = num(env, a[5], "V");
    need(rows >= 0 && V >= 0 && static_cast<int64_t>(x.length) >= rows * V && static_cast<int64_t>(p.length) >= rows * V &&
         static_cast<int64_t>(t.length) >= rows && static_cast<int64_t>(nll.length) >= rows,
         "native.softmaxXent: array shorter than (rows, V)");
    const int64_t bad = ink::softmax_xent(x.data, t.data, p.data, nll.data, rows, V);
    napi_value r;
    napi_create_double(env, static_cast<double>(bad), &r);
    return r;
  });
}

// softmaxXentGrad(p, targets: Int32Array, coef, dx, rows, V); targets were checked by the forward
napi_value SoftmaxXentGradFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 6, [&](size_t argc, napi_value* a) {
    need(argc >= 6, "native.softmaxXentGrad: expected (p, targets, coef, dx, rows, V)");
    F32 p = f32(env, a[0], "p"), coef = f32(env, a[2], "coef"), dx = f32(env, a[3], "dx");
    I32 t = i32(env, a[1], "native.softmaxXentGrad: targets");
    const int64_t rows = num(env, a[4], "rows"), V = num(env, a[5], "V");
    need(rows >= 0 && V >= 0 && static_cast<int64_t>(p.length) >= rows * V && static_cast<int64_t>(dx.length) >= rows * V &&
         static_cast<int64_t>(t.length) >= rows && static_cast<int64_t>(coef.length) >= rows,
         "native.softmaxXentGrad: array shorter than (rows, V)");
    for (int64_t r = 0; r < rows; r++) need(t.data[r] >= -1 && t.data[r] < V, "native.softmaxXentGrad: target out of range");
    ink::softmax_xent_grad(p.data, t.data, coef.data, dx.data, rows, V);
    return undefined(env);
  });
}

// One product of gemmPair from (A, B, C, [M, N, K, transA, transB]), its arrays checked against the sizes.
ink::GemmSpec gemm_spec(napi_env env, napi_value* a, const std::string& which) {
  F32 A = f32(env, a[0], "A"), B = f32(env, a[1], "B"), C = f32(env, a[2], "C");
  auto d = int_list(env, a[3], "dims");
  need(d.size() == 5, "native.gemmPair: dims must be [M, N, K, transA, transB]");
  const int64_t M = d[0], N = d[1], K = d[2];
  need(M >= 0 && N >= 0 && K >= 0 && static_cast<int64_t>(A.length) >= M * K && static_cast<int64_t>(B.length) >= K * N &&
         static_cast<int64_t>(C.length) >= M * N, "native.gemmPair: product " + which + ": array shorter than its shape");
  return ink::GemmSpec{A.data, B.data, C.data, M, N, K, d[3] != 0, d[4] != 0};
}

// gemmPair(A1, B1, C1, dims1, A2, B2, C2, dims2): C1 and C2 must not overlap any input (they are new outputs)
napi_value GemmPairFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 8, [&](size_t argc, napi_value* a) {
    need(argc >= 8, "native.gemmPair: expected (A1, B1, C1, dims1, A2, B2, C2, dims2)");
    const ink::GemmSpec g1 = gemm_spec(env, a, "1"), g2 = gemm_spec(env, a + 4, "2");
    ink::gemm_pair(g1, g2);
    return undefined(env);
  });
}

}  // namespace

void register_train(napi_env env, napi_value exports) {
  static const NamedFn fns[] = {
      {"softmaxXent", SoftmaxXentFn}, {"softmaxXentGrad", SoftmaxXentGradFn}, {"gemmPair", GemmPairFn}};
  register_fns(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
}
