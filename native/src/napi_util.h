// N-API helpers shared by addon.cc and addon_more.cc: argument checks that throw a JS Error with a clear message.
#pragma once
#include <node_api.h>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace {

struct Fail {
  std::string msg;
};

inline void check(napi_env env, napi_status s, const char* what) {
  if (s != napi_ok) throw Fail{std::string("native: ") + what};
}

struct F32 {
  float* data = nullptr;
  size_t length = 0;
};

// A typed array's element type, data pointer and length; `isTypedArray` is false for anything else.
struct TypedArrayView {
  bool isTypedArray = false;
  napi_typedarray_type type = napi_int8_array;
  void* data = nullptr;
  size_t length = 0;
};

inline TypedArrayView typedArrayView(napi_env env, napi_value v, const char* what) {
  TypedArrayView t;
  check(env, napi_is_typedarray(env, v, &t.isTypedArray), what);
  if (!t.isTypedArray) return t;
  napi_value ab;
  size_t off;
  check(env, napi_get_typedarray_info(env, v, &t.type, &t.length, &t.data, &ab, &off), what);
  // A view of the wasm heap taken before an allocation grew the heap is detached: its data is gone, and computing
  // on it would read or write nothing or the wrong bytes. That is a bug in the calling kernel, never a result.
  bool detached = false;
  check(env, napi_is_detached_arraybuffer(env, ab, &detached), what);
  if (detached) {
    throw Fail{std::string("native: ") + what + " is a detached view (the wasm heap grew after it was taken; take views after every allocation)"};
  }
  return t;
}

inline F32 f32(napi_env env, napi_value v, const char* what) {
  const TypedArrayView t = typedArrayView(env, v, what);
  if (!t.isTypedArray || t.type != napi_float32_array) throw Fail{std::string(what) + " must be a Float32Array"};
  return F32{static_cast<float*>(t.data), t.length};
}

struct I32 {
  int32_t* data = nullptr;
  size_t length = 0;
};

inline I32 i32(napi_env env, napi_value v, const char* what) {
  const TypedArrayView t = typedArrayView(env, v, what);
  if (!t.isTypedArray || t.type != napi_int32_array) throw Fail{std::string(what) + " must be an Int32Array"};
  return I32{static_cast<int32_t*>(t.data), t.length};
}

inline bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

inline int64_t num(napi_env env, napi_value v, const char* what) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) throw Fail{std::string(what) + " must be a number"};
  return static_cast<int64_t>(d);
}

inline bool flag(napi_env env, napi_value v) {
  bool b = false;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_boolean) napi_get_value_bool(env, v, &b);
  else if (t == napi_number) { double d; napi_get_value_double(env, v, &d); b = d != 0; }
  return b;
}

inline std::vector<int64_t> int_list(napi_env env, napi_value v, const char* what) {
  bool isArr = false;
  napi_is_array(env, v, &isArr);
  std::vector<int64_t> out;
  if (isArr) {
    uint32_t n;
    check(env, napi_get_array_length(env, v, &n), what);
    out.resize(n);
    for (uint32_t i = 0; i < n; i++) {
      napi_value e;
      check(env, napi_get_element(env, v, i, &e), what);
      out[i] = num(env, e, what);
    }
    return out;
  }
  const TypedArrayView t = typedArrayView(env, v, what);
  if (t.isTypedArray) {
    const size_t length = t.length;
    out.resize(length);
    if (t.type == napi_float64_array) for (size_t i = 0; i < length; i++) out[i] = static_cast<int64_t>(static_cast<double*>(t.data)[i]);
    else if (t.type == napi_int32_array) for (size_t i = 0; i < length; i++) out[i] = static_cast<int32_t*>(t.data)[i];
    else throw Fail{std::string(what) + " must be an Array, Int32Array or Float64Array"};
    return out;
  }
  throw Fail{std::string(what) + " must be an Array, Int32Array or Float64Array"};
}

template <typename F>
inline napi_value wrap(napi_env env, napi_callback_info info, size_t maxArgs, F body) {
  std::vector<napi_value> argv(maxArgs);
  size_t argc = maxArgs;
  napi_get_cb_info(env, info, &argc, argv.data(), nullptr, nullptr);
  try {
    return body(argc, argv.data());
  } catch (const Fail& f) {
    napi_throw_error(env, nullptr, f.msg.c_str());
    return nullptr;
  }
}

inline napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

inline void need(bool ok, const std::string& msg) {
  if (!ok) throw Fail{msg};
}

// Registers functions by name on `exports`.
struct NamedFn {
  const char* name;
  napi_callback cb;
};

inline void register_fns(napi_env env, napi_value exports, const NamedFn* fns, size_t n) {
  for (size_t i = 0; i < n; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, nullptr, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
}

}  // namespace

// addon_more.cc
void register_more(napi_env env, napi_value exports);
// addon_train.cc
void register_train(napi_env env, napi_value exports);
