#!/usr/bin/env bash
# Runs the whole fspol test suite on a fresh Debian 12 machine (as root):
# installs what is missing, configures, builds, and runs every ctest test.
#
#   scripts/test.sh                 everything
#   scripts/test.sh -L unit         only one label (arguments go to ctest)
#
# Environment: BUILD_DIR (default ./build), FSPOL_FUZZ_SECONDS (default 60),
# FSPOL_KERNEL_TESTS=OFF to leave out the kernel tier (fuse-bpf under QEMU).
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
cd "$build_dir"
ctest --output-on-failure -j "$jobs" "$@"
