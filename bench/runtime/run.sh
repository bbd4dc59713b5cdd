#!/usr/bin/env bash
# The runtime benchmark (../../shared/BENCHMARKS.md): native (lower tmpfs),
# fsrun, bindfs (default and --multithreaded) and libfuse's passthrough_ll
# example (the stand-in for passthrough_hp, which Debian does not ship), side
# by side in one run, over the suite's data, metadata and application rows;
# prints a table of medians with ratios to native, plus each daemon's CPU
# time and peak RSS. -k adds the kernel build row (make tinyconfig && make
# -j2 of Debian's linux-source-6.1, in the first repeat only: it takes
# minutes per configuration).
#
# fsrun runs twice: over FUSE io_uring queues (uring=on, which turns the
# fuse module's enable_uring parameter on for the run; the old value is put
# back at the end) and over /dev/fuse reads and writes (fsrun_devfuse).
# FSRUN_BASE=path/to/other/fsrun adds the configuration fsrun_base (over
# io_uring), to measure a change against the build before it.
#
# Policy rows: fsrun_media mounts examples/android-media.fspol (hides,
# a conditional deny, owner/group/mode rewrites on every file, exec denied:
# bindfs_media is bindfs with the matching --force-user/--force-group/
# --perms), fsrun_rules a generated 1,000-rule deny-heavy policy whose
# rules do not touch the benchmark's paths (the cost of carrying them).
#
# -u UID runs every workload as that unprivileged user (setpriv, no
# groups; the lower directory is theirs), so that fsrun's lower operations
# run with a non-root caller's credentials.
#
# usage: bench/runtime/run.sh [-r REPEATS] [-c CONFIGS] [-n METADATA_FILES] [-u UID] [-k] [-o RESULTS.md]
#   CONFIGS default: "native fsrun fsrun_devfuse bindfs bindfs_mt passthrough_ll"
#   more: fsrun_base (FSRUN_BASE), fsrun_media, bindfs_media, fsrun_rules
# Needs root (tmpfs, drop_caches, mounts), fio, bindfs, dbench, fuse3,
# libfuse3-dev; -k also linux-source-6.1 and the kernel's build tools.
# Everything it mounts or starts is undone on exit, also on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
repeats=3
configs="native fsrun fsrun_devfuse bindfs bindfs_mt passthrough_ll"
nfiles=50000
out=""
kernel_build=""
as_user=()
owner=""
while getopts "r:c:n:o:u:k" opt; do
  case $opt in
    r) repeats=$OPTARG ;;
    c) configs=$OPTARG ;;
    n) nfiles=$OPTARG ;;
    o) out=$OPTARG ;;
    k) kernel_build=1 ;;
    u) owner=$OPTARG; as_user=(setpriv --reuid="$OPTARG" --regid="$OPTARG" --clear-groups) ;;
    *) echo "usage: $0 [-r N] [-c CONFIGS] [-n FILES] [-u UID] [-k] [-o FILE]" >&2; exit 2 ;;
  esac
done
FSRUN=${FSRUN:-build/bin/fsrun}
POLICY=${POLICY:-examples/passthrough.fspol}
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
kernel_src=/usr/src/linux-source-6.1.tar.xz
[ -z "$kernel_build" ] || [ -f "$kernel_src" ] || { echo "-k: missing $kernel_src" >&2; exit 1; }
for tool in fio bindfs dbench fusermount3 "$FSRUN"; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

work=$(mktemp -d /tmp/fspol-bench.XXXXXX)
daemon_pid=""
uring_param=/sys/module/fuse/parameters/enable_uring
uring_before=$(cat "$uring_param" 2>/dev/null || true)
cleanup() {
  set +e
  for m in "$work/view" "$work/fs" "$work/src"; do
    mountpoint -q "$m" && { umount "$m" 2>/dev/null || umount -l "$m"; }
  done
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  rm -rf "$work"
  [ -n "$uring_before" ] && echo "$uring_before" >"$uring_param" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$work/fs" "$work/src" "$work/view" "$work/bin"
# 1,000 deny rules on subtrees the workloads never use, a fifth of them
# caller-dependent, a tenth hides; the options of the allow-all policy
# (examples/passthrough.fspol), so that the rules are the only difference.
python3 - "$work/rules.fspol" <<'GEN'
import sys
rules = []
for k in range(1000):
    if k % 10 == 0:
        rules.append(f'  hide "/zz{k}/**/.secret*";')
    elif k % 5 == 0:
        rules.append(f'  deny write, create, delete on "/zz{k}/**" errno EACCES when uid == {1000 + k};')
    else:
        rules.append(f'  deny write, create on "/zz{k}/**/*.lock" errno EPERM;')
with open(sys.argv[1], "w") as f:
    options = ["  option cache = always;", "  option entry_timeout = 1h;",
               "  option attr_timeout = 1h;", "  option negative_timeout = 1h;",
               "  option passthrough = true;"]
    f.write("policy deny_heavy {\n" + "\n".join(options + rules) + "\n}\n")
GEN
chmod 755 "$work"
mount -t tmpfs -o size=12g tmpfs "$work/fs"
mount -t tmpfs -o size=${kernel_build:+4}${kernel_build:-2}g tmpfs "$work/src"
cc=$(command -v clang-19 || command -v cc)
$cc -O2 -o "$work/bin/metabench" bench/runtime/metabench.c
$cc -O2 -o "$work/bin/passthrough_ll" /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c \
  $(pkg-config --cflags --libs fuse3)
tar -C /usr -cf "$work/src/include.tar" include
head -c 1M /dev/urandom >"$work/src/1mb"
chmod -R a+rX "$work/src" "$work/bin"
[ -z "$kernel_build" ] || xz -dc "$kernel_src" >"$work/src/linux.tar"
results="$work/results.txt"
: >"$results"

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
run() { "${as_user[@]}" "$@"; }  # a workload command, as -u's user
now() { date +%s.%N; }
rec() { echo "$cfg $1 ${2-}" >>"$results"; }  # row value (higher is better)
elapsed_rate() { python3 -c "import sys; print(f'{1/(float(sys.argv[2])-float(sys.argv[1])):.6f}')" "$1" "$2"; }

fio_row() { # name fio-args... ; records MiB/s or IOPS
  local name=$1 kind=$2; shift 2
  rm -f "$target/fio.dat"
  if [[ $name != seq_write* && $name != rand_write* ]]; then
    "${as_user[@]}" fio --name=prep --filename="$target/fio.dat" --rw=write --bs=1M --size=1G --ioengine=psync \
      --output=/dev/null
  fi
  drop
  local json
  json=$("${as_user[@]}" fio --name=job --filename="$target/fio.dat" --ioengine=psync --size=1G \
    --output-format=json "$@")
  rec "$name" "$(python3 -c '
import json,sys
j=json.loads(sys.stdin.read())["jobs"]
k=sys.argv[1]
r=sum(x["read"][k]+x["write"][k] for x in j)
print(r/1024 if k=="bw" else r)' "$kind" <<<"$json")"
}

mount_view() { # sets target and daemon_pid
  local lower=$work/fs/lower
  rm -rf "$lower"
  mkdir -p "$lower"
  [ -z "$owner" ] || chown "$owner:$owner" "$lower"
  case $cfg in
    native) target=$lower; daemon_pid=""; return ;;
    fsrun) "$FSRUN" mount "$POLICY" "$lower" "$work/view" -f -o uring=on 2>"$work/daemon.log" & ;;
    fsrun_base) "$FSRUN_BASE" mount "$POLICY" "$lower" "$work/view" -f -o uring=on 2>"$work/daemon.log" & ;;
    fsrun_devfuse) "$FSRUN" mount "$POLICY" "$lower" "$work/view" -f -o uring=off 2>"$work/daemon.log" & ;;
    fsrun_media) "$FSRUN" mount examples/android-media.fspol "$lower" "$work/view" -f -o uring=on 2>"$work/daemon.log" & ;;
    fsrun_rules) "$FSRUN" mount "$work/rules.fspol" "$lower" "$work/view" -f -o uring=on 2>"$work/daemon.log" & ;;
    bindfs_media) bindfs -f --force-user=0 --force-group=9997 --perms=0660,a+D ${owner:+-o allow_other} "$lower" "$work/view" 2>"$work/daemon.log" & ;;
    bindfs) bindfs -f ${owner:+-o allow_other} "$lower" "$work/view" 2>"$work/daemon.log" & ;;
    bindfs_mt) bindfs -f --multithreaded ${owner:+-o allow_other} "$lower" "$work/view" 2>"$work/daemon.log" & ;;
    passthrough_ll) "$work/bin/passthrough_ll" -f -o source="$lower"${owner:+,allow_other} "$work/view" 2>"$work/daemon.log" & ;;
  esac
  daemon_pid=$!
  for _ in $(seq 200); do mountpoint -q "$work/view" && break; sleep 0.05; done
  mountpoint -q "$work/view" || { cat "$work/daemon.log"; exit 1; }
  target=$work/view
}

umount_view() {
  if [ -n "$daemon_pid" ]; then
    local ticks
    ticks=$(awk '{print $14+$15}' "/proc/$daemon_pid/stat")
    echo "$cfg cpu_s $(python3 -c "import os,sys; print(int(sys.argv[1])/os.sysconf('SC_CLK_TCK'))" "$ticks")" >>"$results"
    echo "$cfg rss_mib $(awk '/VmHWM/{print $2/1024}' "/proc/$daemon_pid/status")" >>"$results"
    umount "$work/view"
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=""
  fi
  rm -rf "$work/fs/lower"
}

for r in $(seq "$repeats"); do
  for cfg in $configs; do
    echo "== run $r/$repeats: $cfg" >&2
    mount_view
    # Data rows (fio, psync, 1 GiB file, caches dropped before each job).
    fio_row seq_write_1m bw --rw=write --bs=1M --end_fsync=1
    fio_row seq_read_1m bw --rw=read --bs=1M
    fio_row seq_read_128k_direct bw --rw=read --bs=128k --direct=1
    fio_row rand_read_4k_direct iops --rw=randread --bs=4k --direct=1 --time_based --runtime=4
    fio_row rand_write_4k_direct iops --rw=randwrite --bs=4k --direct=1 --time_based --runtime=4
    fio_row rand_write_4k_buffered iops --rw=randwrite --bs=4k --time_based --runtime=4
    fio_row rand_read_4k_2jobs iops --rw=randread --bs=4k --direct=1 --time_based --runtime=4 \
      --numjobs=2 --group_reporting
    rm -f "$target/fio.dat"
    # Metadata rows (one directory, $nfiles files).
    mb="run $work/bin/metabench"
    run mkdir "$target/m" "$target/w"
    rec create "$($mb "$target/m" "$nfiles" create)"
    rec create_write_4k "$($mb "$target/w" "$nfiles" create_write)"
    drop
    rec stat_first "$($mb "$target/m" "$nfiles" stat)"
    rec stat_warm "$($mb "$target/m" "$nfiles" stat)"
    drop
    rec stat_after_drop "$($mb "$target/m" "$nfiles" stat)"
    rec stat_missing "$($mb "$target/m" "$nfiles" stat_missing)"
    rec open_close "$($mb "$target/m" "$nfiles" open_close)"
    rec open_read_close "$($mb "$target/w" "$nfiles" open_read_close)"
    drop
    rec readdir "$($mb "$target/m" "$nfiles" readdir)"
    drop
    rec readdir_lstat "$($mb "$target/m" "$nfiles" readdir_lstat)"
    rec unlink "$($mb "$target/m" "$nfiles" unlink)"
    rm -rf "$target/m" "$target/w"
    # Application rows (times, recorded as 1/seconds).
    run mkdir "$target/app"
    # (no ownership restored: a view that rewrites owners refuses ids it cannot show)
    t0=$(now); run tar --no-same-owner -C "$target/app" -xf "$work/src/include.tar"; t1=$(now)
    rec untar "$(elapsed_rate "$t0" "$t1")"
    drop
    t0=$(now); run find "$target/app" -printf '%s %m\n' >/dev/null; t1=$(now)
    rec find_stat "$(elapsed_rate "$t0" "$t1")"
    drop
    t0=$(now); run find "$target/app" -type f -exec cat {} + >/dev/null; t1=$(now)
    rec cat_all "$(elapsed_rate "$t0" "$t1")"
    t0=$(now); run rm -rf "$target/app"; t1=$(now)
    rec rm_rf "$(elapsed_rate "$t0" "$t1")"
    run mkdir "$target/cp"
    t0=$(now)
    run sh -c 'for i in $(seq 500); do cp "$1" "$2/f$i"; done' sh "$work/src/1mb" "$target/cp"
    t1=$(now)
    rec cp_500x1mb "$(elapsed_rate "$t0" "$t1")"
    rm -rf "$target/cp"
    run mkdir "$target/db"
    rec dbench_2 "$(run dbench -c /usr/share/dbench/client.txt -D "$target/db" -t 10 2 2>&1 |
      awk '/^Throughput/{print $2}')"
    rm -rf "$target/db"
    if [ -n "$kernel_build" ] && [ "$r" = 1 ]; then
      # passthrough_ll cannot unpack the tree: one fd per inode, 20,000 allowed.
      if tar -C "$target" -xf "$work/src/linux.tar" 2>/dev/null; then
        drop
        t0=$(now)
        make -s -C "$target/linux-source-6.1" tinyconfig >/dev/null 2>&1 &&
          make -s -C "$target/linux-source-6.1" -j2 >/dev/null 2>&1 && t1=$(now) &&
          rec kernel_build "$(elapsed_rate "$t0" "$t1")" || rec kernel_build
      else
        rec kernel_build
      fi
      rm -rf "$target/linux-source-6.1" 2>/dev/null || true
    fi
    umount_view
  done
done

python3 bench/runtime/summarize.py "$results" "$configs" | tee ${out:+"$out"}
