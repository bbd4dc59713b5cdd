#!/usr/bin/env bash
# The suite under sanitizers, in two more build trees next to BUILD_DIR:
#   <build>-asan  ASan + UBSan (+ LeakSanitizer): the unit, compiler and
#                 runtime tests, i.e. everything but the kernel tier (a VM),
#                 the fuzzers (sanitized already) and the install tests
#                 (their consumer projects cannot link an instrumented
#                 library);
#   <build>-tsan  TSan: the daemon's concurrency tests (ctest label
#                 `concurrency`: many callers, reloads and locks at once).
# Every report fails the run, also one from a daemon no test reads the
# stderr of: reports go to files (log_path), printed at the end.
#
#   scripts/sanitizers.sh build    configure and build both trees
#   scripts/sanitizers.sh test     build if needed, then run both
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
jobs=$(nproc)

configure() {  # TREE SANITIZERS
  cmake -S . -B "$1" -G Ninja -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DFSPOL_SANITIZE=$2" -DFSPOL_KERNEL_TESTS=OFF \
    -DFSPOL_FUZZ=OFF -DFSPOL_BUILD_BENCH=OFF >/dev/null
}

build() {
  configure "$build_dir-asan" "address;undefined"
  cmake --build "$build_dir-asan" -j "$jobs"
  configure "$build_dir-tsan" thread
  # The concurrency tests need the daemon and the compiler only.
  cmake --build "$build_dir-tsan" -j "$jobs" --target fsrun fsc fsop
}

run() {  # TREE CTEST_ARGS...
  local tree=$1
  shift
  local reports=$PWD/$tree/sanitizer-reports
  rm -rf "$reports"
  mkdir -p "$reports"
  local status=0
  (
    cd "$tree"
    # The random differential tests with a third of their policies: the
    # same code paths, at the sanitizers' 2-3x cost.
    # Tests that bound the daemon's RSS skip the bound (FSPOL_SANITIZED):
    # shadow memory and ASan's quarantine are not the daemon's.
    FSPOL_DIFF_POLICIES=4 FSPOL_SANITIZED=1 \
    ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0" \
      UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1" \
      TSAN_OPTIONS="log_path=$reports/tsan:second_deadlock_stack=1:halt_on_error=0" \
      ctest --output-on-failure -j "$jobs" "$@"
  ) || status=$?
  if compgen -G "$reports/*" >/dev/null; then
    echo "sanitizers: reports in $reports:"
    for f in "$reports"/*; do
      echo "==== $f"
      head -n 80 "$f"
    done
    status=1
  fi
  return $status
}

case ${1:-test} in
  build) build ;;
  test)
    [[ -x "$build_dir-asan/bin/fsrun" && -x "$build_dir-tsan/bin/fsrun" ]] || build
    status=0
    run "$build_dir-asan" -LE "kernel|fuzz|install" || status=1
    run "$build_dir-tsan" -L concurrency || status=1
    exit $status
    ;;
  *) echo "usage: scripts/sanitizers.sh [build|test]" >&2; exit 2 ;;
esac
