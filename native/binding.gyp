# Native kernels for the tfjs wasm backend (see lib/backend/native.ts). Built by `npm run build:native`.
{
  "targets": [
    {
      "target_name": "inheritune_native",
      "sources": [
        "src/addon.cc",
        "src/addon_more.cc",
        "src/gemm.cc",
        "src/elementwise.cc",
        "src/reduce.cc",
        "src/transpose.cc",
        "src/copy.cc",
        "src/svd.cc",
        "src/fused.cc",
        "src/attention.cc",
        "src/addon_train.cc"
      ],
      "include_dirs": ["<!@(sh find-blas.sh include)"],
      "defines": ["NAPI_VERSION=8", "<!@(sh find-blas.sh defines)"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "<!@(sh march.sh)", "-fno-math-errno", "-Wall", "-Wno-unknown-pragmas"],
      "cflags_cc!": ["-O2", "-O1", "-Os", "-fno-exceptions"],
      "ldflags": ["-fopenmp"],
      "libraries": ["<!@(sh find-blas.sh libs)"]
    }
  ]
}
