#!/usr/bin/env bash
# Runs the whole fspol test suite on a fresh Debian 12 machine (as root):
# installs what is missing, configures, builds, and runs every ctest test.
#
#   scripts/test.sh                 everything, then again under sanitizers
#   scripts/test.sh -L unit         only one label (arguments go to ctest)
#
# Environment: BUILD_DIR (default ./build), FSPOL_FUZZ_SECONDS (default 60),
# FSPOL_KERNEL_TESTS=OFF to leave out the kernel tier (fuse-bpf under QEMU),
# FSPOL_SANITIZERS=OFF to leave out the sanitizer runs (scripts/sanitizers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

build_dir=${BUILD_DIR:-build}
jobs=$(nproc)
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DFSPOL_FUZZ_SECONDS="${FSPOL_FUZZ_SECONDS:-60}" \
  -DFSPOL_KERNEL_TESTS="${FSPOL_KERNEL_TESTS:-ON}"
cmake --build "$build_dir" -j "$jobs"

# The sanitizer trees build while the suite runs (the kernel tier leaves
# cores idle while QEMU boots and waits); their tests run after it.
san_pid=
if [[ ${FSPOL_SANITIZERS:-ON} == ON && $# -eq 0 ]]; then
  BUILD_DIR=$build_dir nice -n 10 bash scripts/sanitizers.sh build \
    >"$build_dir/sanitizers-build.log" 2>&1 &
  san_pid=$!
fi
status=0
(cd "$build_dir" && ctest --output-on-failure -j "$jobs" "$@") || status=$?
if [[ -n $san_pid ]]; then
  if wait "$san_pid"; then
    BUILD_DIR=$build_dir bash scripts/sanitizers.sh test || status=1
  else
    echo "test.sh: the sanitizer trees did not build:"
    tail -n 40 "$build_dir/sanitizers-build.log"
    status=1
  fi
fi
exit $status
