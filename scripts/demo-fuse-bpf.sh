#!/usr/bin/env bash
# The fuse-bpf demo: installs what is missing, builds fsc and fsrun, builds
# the kernel tier (Linux 6.1 with fspol's fuse-bpf series, kernel/README.md;
# ~8 minutes the first time), and boots it under QEMU to mount
# examples/android-media.fspol with its compiled programs in the kernel,
# then in daemon mode, showing what apps, the shell and other users see and
# which requests reached the daemon in each mode
# (scripts/demo-fuse-bpf-guest.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >/dev/null
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  >/dev/null
cmake --build "$build_dir" --target fsc fsrun fsop -j "$(nproc)" >/dev/null
export FSPOL_KERNEL_BUILD_DIR=${FSPOL_KERNEL_BUILD_DIR:-$(realpath "$build_dir")/kernel-build}
echo "Building the kernel tier in $FSPOL_KERNEL_BUILD_DIR (incremental after the first time)"
kernel/build.sh | sed 's/^/  /'
kernel/run-vm.sh --timeout 300 --fspol "$build_dir" \
  --add scripts/demo-fuse-bpf-guest.sh:/p/demo.sh -- /p/demo.sh |
  sed -n '/^== /,$p' | grep -v '^FSPOL_VM_EXIT\|reboot: Restarting'
