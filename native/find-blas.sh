#!/bin/sh
# Prints the compiler/linker flags of the BLAS the addon links against (called by binding.gyp):
#   sh find-blas.sh include | libs | defines
# Preference: INHERITUNE_BLAS_DIR (a directory holding libopenblas.so and cblas.h), then Debian's OpenMP build of
# OpenBLAS (libopenblas-openmp-dev: its threads are the same OpenMP team as our own kernels'), then the pthreads build
# (libopenblas-pthread-dev / libopenblas-dev), then whatever `pkg-config openblas` finds.
# Exits 1 with a reason on stderr when none is there, so that `npm run build:native` fails with a clear message.
what="$1"
triplet=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
pick() { # dir-with-lib include-dir flavour
  case "$what" in
    include) echo "$2" ;;
    libs) echo "-L$1 -Wl,-rpath,$1 -lopenblas" ;;
    defines) echo "INHERITUNE_BLAS_$3" ;;
  esac
  exit 0
}
if [ -n "$INHERITUNE_BLAS_DIR" ]; then
  pick "$INHERITUNE_BLAS_DIR" "$INHERITUNE_BLAS_DIR" "${INHERITUNE_BLAS_FLAVOUR:-PTHREAD}"
fi
for flavour in openmp pthread; do
  lib="/usr/lib/$triplet/openblas-$flavour"
  inc="/usr/include/$triplet/openblas-$flavour"
  if [ -f "$lib/libopenblas.so" ] && [ -f "$inc/cblas.h" ]; then
    pick "$lib" "$inc" "$(echo $flavour | tr a-z A-Z)"
  fi
done
if pkg-config --exists openblas 2>/dev/null; then
  case "$what" in
    include) pkg-config --cflags-only-I openblas | sed 's/-I//g' ;;
    libs) pkg-config --libs openblas ;;
    defines) echo INHERITUNE_BLAS_PTHREAD ;;
  esac
  exit 0
fi
echo "find-blas.sh: no OpenBLAS found (install it with: apt-get install libopenblas-openmp-dev)" >&2
exit 1
