#!/usr/bin/env bash
# Installs every Debian package fspol needs to build, test and benchmark.
# Idempotent and fast when everything is present: apt is touched only when a
# package is missing. Only Debian's archive is used; nothing is vendored.
set -euo pipefail

packages=(
  # build
  cmake ninja-build pkg-config g++ python3
  # compiler: BPF toolchain, LLVM/Clang libraries, regex oracle
  clang-19 llvm-19-dev libclang-19-dev libclang-cpp19-dev libclang-rt-19-dev lld-19
  libbpf-dev bpftool libre2-dev
  # runtime (RE2 and zlib: the redact_secrets handler)
  libfuse3-dev liburing-dev fuse3 zlib1g-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev fio bindfs dbench
  # the man pages' lint and the shell completions' test
  man-db bash-completion
  # the Debian package: its dependencies (dpkg-shlibdeps) and its lint
  dpkg-dev lintian
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root (or install them with apt-get) and try again" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
