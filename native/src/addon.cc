// N-API glue: every function takes Float32Array views (zero-copy views into the wasm heap, taken by the caller
// after it allocated the output) plus sizes, checks that the sizes fit the arrays, and runs a kernel in place.
#include <node_api.h>
#include <cblas.h>
#include <omp.h>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>
#include "kernels.h"
#include "napi_util.h"

extern "C" {
char* openblas_get_config(void);
int openblas_get_parallel(void);
void openblas_set_num_threads(int);
}

namespace ink {

static int g_threads = 1;

void set_threads(int n) {
  g_threads = n < 1 ? 1 : n;
  // Never let OpenMP hand out fewer threads than asked (OMP_DYNAMIC=true does under load): OpenBLAS's threaded
  // GEMM waits for every thread it planned with, and hangs.
  omp_set_dynamic(0);
  omp_set_num_threads(g_threads);
  openblas_set_num_threads(g_threads);
}

int threads() { return g_threads; }

}  // namespace ink

namespace {

// gemm(A, B, C, bias|null, batch, M, N, K, transA, transB, aOff|null, bOff|null, act)
napi_value Gemm(napi_env env, napi_callback_info info) {
  return wrap(env, info, 13, [&](size_t argc, napi_value* a) {
    need(argc >= 13, "native.gemm: expected 13 arguments");
    F32 A = f32(env, a[0], "gemm A"), B = f32(env, a[1], "gemm B"), C = f32(env, a[2], "gemm C");
    F32 bias;
    if (!is_nullish(env, a[3])) bias = f32(env, a[3], "gemm bias");
    const int64_t batch = num(env, a[4], "batch"), M = num(env, a[5], "M"), N = num(env, a[6], "N"),
                  K = num(env, a[7], "K");
    const bool ta = flag(env, a[8]), tb = flag(env, a[9]);
    const int act = static_cast<int>(num(env, a[12], "act"));
    need(batch >= 0 && M >= 0 && N >= 0 && K >= 0, "native.gemm: negative size");
    need(static_cast<int64_t>(C.length) >= batch * M * N, "native.gemm: C is too small");
    need(!bias.data || static_cast<int64_t>(bias.length) >= N, "native.gemm: bias shorter than N");
    std::vector<int64_t> ao, bo;
    if (is_nullish(env, a[10])) { ao.resize(batch); for (int64_t i = 0; i < batch; i++) ao[i] = i * M * K; }
    else ao = int_list(env, a[10], "aOff");
    if (is_nullish(env, a[11])) { bo.resize(batch); for (int64_t i = 0; i < batch; i++) bo[i] = i * K * N; }
    else bo = int_list(env, a[11], "bOff");
    need(static_cast<int64_t>(ao.size()) >= batch && static_cast<int64_t>(bo.size()) >= batch, "native.gemm: offsets shorter than batch");
    for (int64_t i = 0; i < batch; i++) {
      need(ao[i] >= 0 && ao[i] + M * K <= static_cast<int64_t>(A.length), "native.gemm: A offset out of range");
      need(bo[i] >= 0 && bo[i] + K * N <= static_cast<int64_t>(B.length), "native.gemm: B offset out of range");
    }
    ink::gemm_batched(A.data, B.data, C.data, bias.data, batch, M, N, K, ta, tb, ao.data(), bo.data(), act);
    return undefined(env);
  });
}

// unary(op, x, y)
napi_value UnaryFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 3, [&](size_t argc, napi_value* a) {
    need(argc >= 3, "native.unary: expected (op, x, y)");
    const int op = static_cast<int>(num(env, a[0], "op"));
    F32 x = f32(env, a[1], "unary x"), y = f32(env, a[2], "unary y");
    need(y.length >= x.length, "native.unary: y is shorter than x");
    ink::unary(op, x.data, y.data, static_cast<int64_t>(x.length));
    return undefined(env);
  });
}

// binary(op, a, b, out, aShape, bShape, outShape): shapes right-aligned to the same rank.
napi_value BinaryFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 7, [&](size_t argc, napi_value* a) {
    need(argc >= 7, "native.binary: expected 7 arguments");
    const int op = static_cast<int>(num(env, a[0], "op"));
    F32 x = f32(env, a[1], "binary a"), y = f32(env, a[2], "binary b"), o = f32(env, a[3], "binary out");
    auto as = int_list(env, a[4], "aShape"), bs = int_list(env, a[5], "bShape"), os = int_list(env, a[6], "outShape");
    need(as.size() == os.size() && bs.size() == os.size(), "native.binary: shapes must have the same rank");
    int64_t na = 1, nb = 1, no = 1;
    for (size_t d = 0; d < os.size(); d++) {
      need((as[d] == os[d] || as[d] == 1) && (bs[d] == os[d] || bs[d] == 1), "native.binary: shapes do not broadcast");
      na *= as[d]; nb *= bs[d]; no *= os[d];
    }
    need(static_cast<int64_t>(x.length) >= na && static_cast<int64_t>(y.length) >= nb && static_cast<int64_t>(o.length) >= no,
         "native.binary: array shorter than its shape");
    if (no > 0) need(na > 0 && nb > 0, "native.binary: empty input");
    ink::binary(op, x.data, y.data, o.data, static_cast<int>(os.size()), as.data(), bs.data(), os.data());
    return undefined(env);
  });
}

// reduce(op, x, out, pre, red, post)
napi_value ReduceFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 6, [&](size_t argc, napi_value* a) {
    need(argc >= 6, "native.reduce: expected 6 arguments");
    const int op = static_cast<int>(num(env, a[0], "op"));
    F32 x = f32(env, a[1], "reduce x"), o = f32(env, a[2], "reduce out");
    const int64_t pre = num(env, a[3], "pre"), red = num(env, a[4], "red"), post = num(env, a[5], "post");
    need(pre >= 0 && red >= 0 && post >= 0, "native.reduce: negative size");
    need(static_cast<int64_t>(x.length) >= pre * red * post && static_cast<int64_t>(o.length) >= pre * post,
         "native.reduce: array shorter than its shape");
    ink::reduce(op, x.data, o.data, pre, red, post);
    return undefined(env);
  });
}

// softmax(x, y, rows, cols)
napi_value SoftmaxFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 4, [&](size_t argc, napi_value* a) {
    need(argc >= 4, "native.softmax: expected (x, y, rows, cols)");
    F32 x = f32(env, a[0], "softmax x"), y = f32(env, a[1], "softmax y");
    const int64_t rows = num(env, a[2], "rows"), cols = num(env, a[3], "cols");
    need(rows >= 0 && cols >= 0, "native.softmax: negative size");
    need(static_cast<int64_t>(x.length) >= rows * cols && static_cast<int64_t>(y.length) >= rows * cols,
         "native.softmax: array shorter than rows*cols");
    ink::softmax(x.data, y.data, rows, cols);
    return undefined(env);
  });
}

// transpose(x, y, shape, perm)
napi_value TransposeFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 4, [&](size_t argc, napi_value* a) {
    need(argc >= 4, "native.transpose: expected (x, y, shape, perm)");
    F32 x = f32(env, a[0], "transpose x"), y = f32(env, a[1], "transpose y");
    auto shape = int_list(env, a[2], "shape"), perm64 = int_list(env, a[3], "perm");
    need(shape.size() == perm64.size() && shape.size() <= 16, "native.transpose: perm must match the rank (<= 16)");
    std::vector<int> perm(perm64.size());
    std::vector<bool> seen(perm64.size(), false);
    int64_t n = 1;
    for (size_t d = 0; d < shape.size(); d++) {
      need(perm64[d] >= 0 && perm64[d] < static_cast<int64_t>(shape.size()) && !seen[perm64[d]], "native.transpose: bad perm");
      seen[perm64[d]] = true;
      perm[d] = static_cast<int>(perm64[d]);
      n *= shape[d];
    }
    need(static_cast<int64_t>(x.length) >= n && static_cast<int64_t>(y.length) >= n, "native.transpose: array shorter than its shape");
    ink::transpose(x.data, y.data, static_cast<int>(shape.size()), shape.data(), perm.data());
    return undefined(env);
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return wrap(env, info, 1, [&](size_t argc, napi_value* a) {
    need(argc >= 1, "native.setThreads: expected a thread count");
    ink::set_threads(static_cast<int>(num(env, a[0], "threads")));
    return undefined(env);
  });
}

napi_value Info(napi_env env, napi_callback_info info) {
  return wrap(env, info, 0, [&](size_t, napi_value*) {
    napi_value o, v;
    napi_create_object(env, &o);
    const char* cfg = openblas_get_config();
    napi_create_string_utf8(env, cfg ? cfg : "", NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, o, "blasConfig", v);
    const int par = openblas_get_parallel();
    napi_create_string_utf8(env, par == 2 ? "openmp" : par == 1 ? "pthreads" : "serial", NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, o, "blasThreading", v);
    napi_create_int32(env, ink::threads(), &v);
    napi_set_named_property(env, o, "threads", v);
    napi_create_int32(env, omp_get_num_procs(), &v);
    napi_set_named_property(env, o, "cores", v);
#if defined(__AVX512F__)
    const char* simd = "avx512";
#elif defined(__AVX2__)
    const char* simd = "avx2";
#elif defined(__SSE2__)
    const char* simd = "sse2";
#else
    const char* simd = "scalar";
#endif
    napi_create_string_utf8(env, simd, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, o, "simd", v);
    return o;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  static const NamedFn fns[] = {{"gemm", Gemm},         {"unary", UnaryFn},         {"binary", BinaryFn},
                                {"reduce", ReduceFn},     {"softmax", SoftmaxFn},     {"transpose", TransposeFn},
                                {"setThreads", SetThreads}, {"info", Info}};
  register_fns(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
  register_more(env, exports);   // addon_more.cc: copies, fused ops, gradients, SVD
  register_train(env, exports);  // addon_train.cc: cross-entropy, paired products
  ink::set_threads(1);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
