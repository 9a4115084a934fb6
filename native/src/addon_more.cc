// N-API glue, second half: copies (slice, concat, gather), fused gradients and ops, and the batched SVD.
#include <algorithm>
#include <string>
#include "kernels.h"
#include "napi_util.h"

namespace {

// softmaxGrad(y, dy, dx, rows, cols)
napi_value SoftmaxGradFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 5, [&](size_t argc, napi_value* a) {
    need(argc >= 5, "native.softmaxGrad: expected (y, dy, dx, rows, cols)");
    F32 y = f32(env, a[0], "y"), dy = f32(env, a[1], "dy"), dx = f32(env, a[2], "dx");
    const int64_t rows = num(env, a[3], "rows"), cols = num(env, a[4], "cols");
    const int64_t n = rows * cols;
    need(rows >= 0 && cols >= 0 && static_cast<int64_t>(y.length) >= n && static_cast<int64_t>(dy.length) >= n &&
         static_cast<int64_t>(dx.length) >= n, "native.softmaxGrad: array shorter than rows*cols");
    ink::softmax_grad(y.data, dy.data, dx.data, rows, cols);
    return undefined(env);
  });
}

// causalSoftmax(x, y, rows, T, scale) / causalSoftmaxGrad(y, dy, dx, rows, T, scale)
napi_value CausalSoftmaxFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 5, [&](size_t argc, napi_value* a) {
    need(argc >= 5, "native.causalSoftmax: expected (x, y, rows, T, scale)");
    F32 x = f32(env, a[0], "x"), y = f32(env, a[1], "y");
    const int64_t rows = num(env, a[2], "rows"), T = num(env, a[3], "T");
    double scale;
    napi_get_value_double(env, a[4], &scale);
    need(rows >= 0 && T >= 0 && static_cast<int64_t>(x.length) >= rows * T && static_cast<int64_t>(y.length) >= rows * T,
         "native.causalSoftmax: array shorter than rows*T");
    ink::causal_softmax(x.data, y.data, rows, T, static_cast<float>(scale));
    return undefined(env);
  });
}

napi_value CausalSoftmaxGradFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 6, [&](size_t argc, napi_value* a) {
    need(argc >= 6, "native.causalSoftmaxGrad: expected (y, dy, dx, rows, T, scale)");
    F32 y = f32(env, a[0], "y"), dy = f32(env, a[1], "dy"), dx = f32(env, a[2], "dx");
    const int64_t rows = num(env, a[3], "rows"), T = num(env, a[4], "T");
    double scale;
    napi_get_value_double(env, a[5], &scale);
    const int64_t n = rows * T;
    need(rows >= 0 && T >= 0 && static_cast<int64_t>(y.length) >= n && static_cast<int64_t>(dy.length) >= n &&
         static_cast<int64_t>(dx.length) >= n, "native.causalSoftmaxGrad: array shorter than rows*T");
    ink::causal_softmax_grad(y.data, dy.data, dx.data, rows, T, static_cast<float>(scale));
    return undefined(env);
  });
}

// adamw(p, g, m, v, pOut, mOut, vOut, [decay, beta1, 1-beta1, beta2, 1-beta2, bc2Sqrt, eps, stepSize])
napi_value AdamWFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 8, [&](size_t argc, napi_value* a) {
    need(argc >= 8, "native.adamw: expected (p, g, m, v, pOut, mOut, vOut, constants)");
    const char* names[7] = {"p", "g", "m", "v", "pOut", "mOut", "vOut"};
    F32 t[7];
    for (int i = 0; i < 7; i++) t[i] = f32(env, a[i], names[i]);
    for (int i = 1; i < 7; i++) need(t[i].length == t[0].length, "native.adamw: p, g, m, v and the outputs differ in length");
    F32 c = f32(env, a[7], "constants");
    need(c.length >= 8, "native.adamw: expected 8 constants");
    const ink::AdamWConsts k{c.data[0], c.data[1], c.data[2], c.data[3], c.data[4], c.data[5], c.data[6], c.data[7]};
    ink::adamw(t[0].data, t[1].data, t[2].data, t[3].data, t[4].data, t[5].data, t[6].data,
               static_cast<int64_t>(t[0].length), k);
    return undefined(env);
  });
}

// attention(qkv, y, p, B, T, nh, scale) / attentionGrad(qkv, p, dy, dqkv, B, T, nh, scale)
struct AttnDims {
  int64_t B, T, nh, hs;
};
AttnDims attn_dims(napi_env env, napi_value* a, size_t qkvLen, const char* fn) {
  AttnDims d{num(env, a[0], "B"), num(env, a[1], "T"), num(env, a[2], "nh"), 0};
  need(d.B > 0 && d.T > 0 && d.nh > 0, (std::string(fn) + ": B, T and nh must be positive").c_str());
  const int64_t rows = d.B * d.T;
  need(static_cast<int64_t>(qkvLen) % (rows * 3 * d.nh) == 0, (std::string(fn) + ": qkv is not (B*T, 3*nh*hs)").c_str());
  d.hs = static_cast<int64_t>(qkvLen) / (rows * 3 * d.nh);
  return d;
}

napi_value AttentionFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 7, [&](size_t argc, napi_value* a) {
    need(argc >= 7, "native.attention: expected (qkv, y, p, B, T, nh, scale)");
    F32 qkv = f32(env, a[0], "qkv"), y = f32(env, a[1], "y"), p = f32(env, a[2], "p");
    const AttnDims d = attn_dims(env, a + 3, qkv.length, "native.attention");
    double scale;
    napi_get_value_double(env, a[6], &scale);
    need(static_cast<int64_t>(y.length) >= d.B * d.T * d.nh * d.hs && static_cast<int64_t>(p.length) >= d.B * d.nh * d.T * d.T,
         "native.attention: y or p too short");
    ink::attention_forward(qkv.data, y.data, p.data, d.B, d.T, d.nh, d.hs, static_cast<float>(scale));
    return undefined(env);
  });
}

napi_value AttentionGradFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 8, [&](size_t argc, napi_value* a) {
    need(argc >= 8, "native.attentionGrad: expected (qkv, p, dy, dqkv, B, T, nh, scale)");
    F32 qkv = f32(env, a[0], "qkv"), p = f32(env, a[1], "p"), dy = f32(env, a[2], "dy"), dqkv = f32(env, a[3], "dqkv");
    const AttnDims d = attn_dims(env, a + 4, qkv.length, "native.attentionGrad");
    double scale;
    napi_get_value_double(env, a[7], &scale);
    need(dqkv.length == qkv.length && static_cast<int64_t>(dy.length) >= d.B * d.T * d.nh * d.hs &&
         static_cast<int64_t>(p.length) >= d.B * d.nh * d.T * d.T, "native.attentionGrad: array too short");
    ink::attention_backward(qkv.data, p.data, dy.data, dqkv.data, d.B, d.T, d.nh, d.hs, static_cast<float>(scale));
    return undefined(env);
  });
}

// tanhGrad(y, dy, dx)
napi_value TanhGradFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 3, [&](size_t argc, napi_value* a) {
    need(argc >= 3, "native.tanhGrad: expected (y, dy, dx)");
    F32 y = f32(env, a[0], "y"), dy = f32(env, a[1], "dy"), dx = f32(env, a[2], "dx");
    need(dy.length >= y.length && dx.length >= y.length, "native.tanhGrad: arrays of different lengths");
    ink::tanh_grad(y.data, dy.data, dx.data, static_cast<int64_t>(y.length));
    return undefined(env);
  });
}

// slice(x, y, shape, begin, size)
napi_value SliceFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 5, [&](size_t argc, napi_value* a) {
    need(argc >= 5, "native.slice: expected (x, y, shape, begin, size)");
    F32 x = f32(env, a[0], "slice x"), y = f32(env, a[1], "slice y");
    auto shape = int_list(env, a[2], "shape"), begin = int_list(env, a[3], "begin"), size = int_list(env, a[4], "size");
    need(shape.size() == begin.size() && shape.size() == size.size() && !shape.empty(), "native.slice: rank mismatch");
    int64_t nx = 1, ny = 1;
    for (size_t d = 0; d < shape.size(); d++) {
      need(begin[d] >= 0 && size[d] >= 0 && begin[d] + size[d] <= shape[d], "native.slice: slice out of bounds");
      nx *= shape[d];
      ny *= size[d];
    }
    need(static_cast<int64_t>(x.length) >= nx && static_cast<int64_t>(y.length) >= ny, "native.slice: array shorter than its shape");
    ink::slice(x.data, y.data, static_cast<int>(shape.size()), shape.data(), begin.data(), size.data());
    return undefined(env);
  });
}

// concat([x0, x1, ...], [inner0, inner1, ...], y, pre)
napi_value ConcatFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 4, [&](size_t argc, napi_value* a) {
    need(argc >= 4, "native.concat: expected (xs, inners, y, pre)");
    bool isArr = false;
    napi_is_array(env, a[0], &isArr);
    need(isArr, "native.concat: xs must be an array of Float32Arrays");
    uint32_t n;
    napi_get_array_length(env, a[0], &n);
    auto inners = int_list(env, a[1], "inners");
    need(inners.size() == n, "native.concat: one inner size per input");
    F32 y = f32(env, a[2], "concat y");
    const int64_t pre = num(env, a[3], "pre");
    std::vector<const float*> xs(n);
    int64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
      napi_value e;
      napi_get_element(env, a[0], i, &e);
      F32 x = f32(env, e, "concat input");
      need(inners[i] >= 0 && static_cast<int64_t>(x.length) >= pre * inners[i], "native.concat: input shorter than pre*inner");
      xs[i] = x.data;
      sum += inners[i];
    }
    need(pre >= 0 && static_cast<int64_t>(y.length) >= pre * sum, "native.concat: output too short");
    ink::concat(xs.data(), inners.data(), static_cast<int>(n), y.data, pre);
    return undefined(env);
  });
}

// singularValues(A: Float64Array, S: Float64Array, count, rows, cols)
napi_value SvdFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 5, [&](size_t argc, napi_value* a) {
    need(argc >= 5, "native.singularValues: expected (A, S, count, rows, cols)");
    auto f64 = [&](napi_value v, const char* what) {
      const TypedArrayView t = typedArrayView(env, v, what);
      need(t.isTypedArray && t.type == napi_float64_array, std::string(what) + " must be a Float64Array");
      return std::make_pair(static_cast<double*>(t.data), t.length);
    };
    auto A = f64(a[0], "A");
    auto S = f64(a[1], "S");
    const int64_t count = num(env, a[2], "count"), rows = num(env, a[3], "rows"), cols = num(env, a[4], "cols");
    need(count >= 0 && rows >= 0 && cols >= 0 && rows < (1 << 20) && cols < (1 << 20), "native.singularValues: bad sizes");
    need(static_cast<int64_t>(A.second) >= count * rows * cols, "native.singularValues: A shorter than count*rows*cols");
    need(static_cast<int64_t>(S.second) >= count * std::min(rows, cols), "native.singularValues: S shorter than count*min(rows, cols)");
    const int info = ink::singular_values(A.first, S.first, count, static_cast<int>(rows), static_cast<int>(cols));
    need(info == 0, "native.singularValues: LAPACK dgesdd failed (info " + std::to_string(info) + ")");
    return undefined(env);
  });
}

// Elementwise kernels over float32 arrays: y = f(x), and dx = f'(x) dy.
using UnaryKernel = void (*)(const float*, float*, int64_t);
using UnaryGradKernel = void (*)(const float*, const float*, float*, int64_t);

napi_value Unary(napi_env env, napi_callback_info info, const std::string& name, UnaryKernel kernel) {
  return wrap(env, info, 2, [&](size_t argc, napi_value* a) {
    need(argc >= 2, "native." + name + ": expected (x, y)");
    F32 x = f32(env, a[0], "x"), y = f32(env, a[1], "y");
    need(y.length >= x.length, "native." + name + ": y shorter than x");
    kernel(x.data, y.data, static_cast<int64_t>(x.length));
    return undefined(env);
  });
}

napi_value UnaryGrad(napi_env env, napi_callback_info info, const std::string& name, UnaryGradKernel kernel) {
  return wrap(env, info, 3, [&](size_t argc, napi_value* a) {
    need(argc >= 3, "native." + name + ": expected (x, dy, dx)");
    F32 x = f32(env, a[0], "x"), dy = f32(env, a[1], "dy"), dx = f32(env, a[2], "dx");
    need(dy.length >= x.length && dx.length >= x.length, "native." + name + ": arrays of different lengths");
    kernel(x.data, dy.data, dx.data, static_cast<int64_t>(x.length));
    return undefined(env);
  });
}

// gelu / geluGrad: GPT-2's tanh GELU; geluExact / geluExactGrad: the erf GELU
napi_value GeluFn(napi_env env, napi_callback_info info) { return Unary(env, info, "gelu", ink::gelu); }
napi_value GeluGradFn(napi_env env, napi_callback_info info) { return UnaryGrad(env, info, "geluGrad", ink::gelu_grad); }
napi_value GeluExactFn(napi_env env, napi_callback_info info) { return Unary(env, info, "geluExact", ink::gelu_exact); }
napi_value GeluExactGradFn(napi_env env, napi_callback_info info) { return UnaryGrad(env, info, "geluExactGrad", ink::gelu_exact_grad); }

// layerNorm(x, w, b|null, y, mean, rstd, rows, C, eps)
napi_value LayerNormFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 9, [&](size_t argc, napi_value* a) {
    need(argc >= 9, "native.layerNorm: expected 9 arguments");
    F32 x = f32(env, a[0], "x"), w = f32(env, a[1], "w"), y = f32(env, a[3], "y"), m = f32(env, a[4], "mean"),
        r = f32(env, a[5], "rstd");
    F32 b;
    if (!is_nullish(env, a[2])) b = f32(env, a[2], "b");
    const int64_t rows = num(env, a[6], "rows"), C = num(env, a[7], "C");
    double eps;
    napi_get_value_double(env, a[8], &eps);
    need(rows >= 0 && C >= 0 && static_cast<int64_t>(x.length) >= rows * C && static_cast<int64_t>(y.length) >= rows * C &&
         static_cast<int64_t>(w.length) >= C && (!b.data || static_cast<int64_t>(b.length) >= C) &&
         static_cast<int64_t>(m.length) >= rows && static_cast<int64_t>(r.length) >= rows, "native.layerNorm: array too short");
    ink::layernorm(x.data, w.data, b.data, y.data, m.data, r.data, rows, C, static_cast<float>(eps));
    return undefined(env);
  });
}

// layerNormGrad(x, w, mean, rstd, dy, dx, dw, db|null, rows, C)
napi_value LayerNormGradFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 10, [&](size_t argc, napi_value* a) {
    need(argc >= 10, "native.layerNormGrad: expected 10 arguments");
    F32 x = f32(env, a[0], "x"), w = f32(env, a[1], "w"), m = f32(env, a[2], "mean"), r = f32(env, a[3], "rstd"),
        dy = f32(env, a[4], "dy"), dx = f32(env, a[5], "dx"), dw = f32(env, a[6], "dw");
    F32 db;
    if (!is_nullish(env, a[7])) db = f32(env, a[7], "db");
    const int64_t rows = num(env, a[8], "rows"), C = num(env, a[9], "C");
    const int64_t n = rows * C;
    need(rows >= 0 && C >= 0 && static_cast<int64_t>(x.length) >= n && static_cast<int64_t>(dy.length) >= n &&
         static_cast<int64_t>(dx.length) >= n && static_cast<int64_t>(w.length) >= C && static_cast<int64_t>(dw.length) >= C &&
         (!db.data || static_cast<int64_t>(db.length) >= C) && static_cast<int64_t>(m.length) >= rows &&
         static_cast<int64_t>(r.length) >= rows, "native.layerNormGrad: array too short");
    ink::layernorm_grad(x.data, w.data, m.data, r.data, dy.data, dx.data, dw.data, db.data, rows, C);
    return undefined(env);
  });
}

// gather(x, idx: Int32Array, y, pre, axisLen, post) -> -1 or the position of the first bad index
napi_value GatherFn(napi_env env, napi_callback_info info) {
  return wrap(env, info, 6, [&](size_t argc, napi_value* a) {
    need(argc >= 6, "native.gather: expected (x, idx, y, pre, axisLen, post)");
    F32 x = f32(env, a[0], "gather x"), y = f32(env, a[2], "gather y");
    I32 idx = i32(env, a[1], "native.gather: idx");
    const int64_t pre = num(env, a[3], "pre"), axisLen = num(env, a[4], "axisLen"), post = num(env, a[5], "post");
    const int64_t n = static_cast<int64_t>(idx.length);
    need(pre >= 0 && axisLen >= 0 && post >= 0 && static_cast<int64_t>(x.length) >= pre * axisLen * post &&
         static_cast<int64_t>(y.length) >= pre * n * post, "native.gather: array shorter than its shape");
    const int64_t bad = ink::gather(x.data, idx.data, y.data, pre, axisLen, post, n);
    napi_value r;
    napi_create_double(env, static_cast<double>(bad), &r);
    return r;
  });
}

}  // namespace

void register_more(napi_env env, napi_value exports) {
  static const NamedFn fns[] = {
      {"slice", SliceFn},         {"concat", ConcatFn},         {"gather", GatherFn},
      {"singularValues", SvdFn},  {"softmaxGrad", SoftmaxGradFn}, {"tanhGrad", TanhGradFn},
      {"gelu", GeluFn},           {"geluGrad", GeluGradFn},     {"layerNorm", LayerNormFn},
      {"geluExact", GeluExactFn}, {"geluExactGrad", GeluExactGradFn},
      {"layerNormGrad", LayerNormGradFn}, {"causalSoftmax", CausalSoftmaxFn}, {"causalSoftmaxGrad", CausalSoftmaxGradFn},
      {"adamw", AdamWFn}, {"attention", AttentionFn}, {"attentionGrad", AttentionGradFn}};
  register_fns(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
}
