#!/usr/bin/env bash
# The fspol demo: installs what is missing, builds, checks and formats an
# example policy, then shows what fsc says about a deliberately broken copy.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >/dev/null
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  >/dev/null
cmake --build "$build_dir" --target fsc -j "$(nproc)" >/dev/null
fsc=$(realpath "$build_dir/bin/fsc")
example=examples/android-media.fspol

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "The policy: $example"
cat "$example"

step "fsc check $example"
"$fsc" check "$example" && echo "ok: no errors"

step "fsc fmt: the same policy written carelessly, printed in canonical form"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/careless.fspol" <<'POLICY'
policy careless{ let private=dir "/Android/{data,obb}/*";hide private unless uid in 10000..19999 or comm=="adbd";
deny write,create on "/DCIM/.thumbnails/**" when uid!=10057 errno EPERM;   # thumbnails
attr file "/Music/**"{mode&=0644;}}
POLICY
"$fsc" fmt "$work/careless.fspol"

step "A broken copy: every mistake is reported, with its place and a hint"
cat >"$work/broken.fspol" <<'POLICY'
policy broken {
  hide "Android/data/*" unless uid in 10000..19999;
  deny wrte, create on "/DCIM/.thumbnails/**" errno EACESS;
  attr file "/Music/**" { mode &= 0644; owner = 1000; }
  hide "/logs/[z-a]*.log" when uid = 0;
}
POLICY
cat -n "$work/broken.fspol"
echo
set +e
(cd "$work" && "$fsc" check broken.fspol)
status=$?
set -e
echo "(exit status $status: errors in the policy)"
