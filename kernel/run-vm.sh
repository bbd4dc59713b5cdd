#!/bin/bash
# run-vm.sh [--timeout SEC] [--log FILE] [--keep-log] [--add HOST:GUEST]...
#           [--add-exe HOST:GUEST]... [--fspol BUILD_DIR [--policy FILE]...]
#           [--fsc] [--append KERNEL_ARGS] -- COMMAND [ARGS...]
# Boot $FSPOL_KERNEL_BUILD_DIR/bzImage under qemu-system-x86_64 -accel tcg
# with the selftest initramfs, run COMMAND inside (PATH has /tests), and exit
# with its status.  --add copies a host file into the guest for this run
# (repeatable; GUEST is an absolute path); --add-exe copies a program
# without its debug information, with the shared libraries it needs.
# --fspol puts fspol into the guest from a CMake build directory: fsrun (and
# fsop, the tests' request tool) in /usr/bin, the stdlib in
# /usr/share/fspol/policies, the examples in /usr/share/fspol/examples, each
# with its fuse_ops object (NAME.bpf.o, compiled on the host by that build's
# fsc); --policy adds a policy of yours the same way, in /p (then
#   fsrun mount --mode fuse-bpf -o bpf=/p/NAME.bpf.o /p/NAME.fspol LOWER MNT).
# --fsc (with --fspol) also puts fsc in /usr/bin, with the LLVM and Clang
# libraries it loads (~270 MB, so the VM gets 2 GiB): fsrun then compiles a
# policy in the guest (fsrun mount --mode fuse-bpf /p/my.fspol LOWER MNT).
# --append adds to the kernel command line (e.g. slub_debug=FZPU).
# The serial log is kept on failure (path printed).
# Exit 77 if qemu or the built kernel is missing; 124 on timeout.
set -uo pipefail
B=${FSPOL_KERNEL_BUILD_DIR:-$PWD/kernel-build}
TIMEOUT=300
LOG=
KEEP=0
ADD=()
EXES=()
FSPOL_BUILD=
POLICIES=()
APPEND=
WITH_FSC=0
while [ $# -gt 0 ]; do
	case $1 in
	--add) ADD+=("$2"); shift 2 ;;
	--add-exe) EXES+=("$2"); shift 2 ;;
	--fspol) FSPOL_BUILD=$2; shift 2 ;;
	--policy) POLICIES+=("$2"); shift 2 ;;
	--append) APPEND="$APPEND $2"; shift 2 ;;
	--fsc) WITH_FSC=1; shift ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--log) LOG=$2; shift 2 ;;
	--keep-log) KEEP=1; shift ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: run-vm.sh [opts] -- cmd..." >&2; exit 2; }

QEMU=$(command -v qemu-system-x86_64 || true)
if [ -z "$QEMU" ]; then
	echo "SKIP: qemu-system-x86_64 not installed" >&2
	exit 77
fi
for f in bzImage initramfs.cpio.gz; do
	if [ ! -f "$B/$f" ]; then
		echo "SKIP: $B/$f missing (kernel/build.sh has not run)" >&2
		exit 77
	fi
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/root"
if [ $WITH_FSC = 1 ] && [ -z "$FSPOL_BUILD" ]; then
	echo "run-vm: --fsc needs --fspol BUILD_DIR (the fsc to put in the guest)" >&2
	exit 2
fi
if [ ${#POLICIES[@]} -gt 0 ] && [ -z "$FSPOL_BUILD" ]; then
	echo "run-vm: --policy needs --fspol BUILD_DIR (its fsc compiles the policy)" >&2
	exit 2
fi
if [ -n "$FSPOL_BUILD" ]; then
	KTOP=$(cd "$(dirname "$0")/.." && pwd)
	FSC=$FSPOL_BUILD/bin/fsc
	for exe in "$FSC" "$FSPOL_BUILD/bin/fsrun"; do
		[ -x "$exe" ] || { echo "run-vm: --fspol $FSPOL_BUILD: no $exe (build fsc and fsrun)" >&2; exit 2; }
	done
	EXES+=("$FSPOL_BUILD/bin/fsrun:/usr/bin/fsrun")
	[ $WITH_FSC = 1 ] && EXES+=("$FSC:/usr/bin/fsc")
	[ -x "$FSPOL_BUILD/runtime/tests/fsop" ] && EXES+=("$FSPOL_BUILD/runtime/tests/fsop:/usr/bin/fsop")
	share=$WORK/root/usr/share/fspol
	mkdir -p "$share/policies" "$share/examples" "$WORK/root/p"
	cp "$KTOP"/stdlib/policies/*.fspol "$share/policies/"
	compile() { # compile POLICY DIR: POLICY and its object in DIR
		local name
		name=$(basename "$1" .fspol)
		cp "$1" "$2/$name.fspol"
		"$FSC" compile --target=fspol-6.1 --emit=bpf-obj -o "$2/$name.bpf.o" "$1" ||
			{ echo "run-vm: fsc cannot compile $1" >&2; exit 2; }
	}
	if [ $WITH_FSC = 1 ]; then
		# The headers fsc's BPF build includes: Clang's resource headers
		# and the system ones generated code names (as clang -M lists them).
		res=$(clang-19 -print-resource-dir)
		mkdir -p "$WORK/root$res" "$WORK/gen"
		cp -r "$res/include" "$WORK/root$res/"
		"$FSC" compile --target=fspol-6.1 --emit=bpf-c,harness-c -o "$WORK/gen" \
			"$KTOP/examples/android-media.fspol" ||
			{ echo "run-vm: fsc cannot compile the examples" >&2; exit 2; }
		for h in $(clang-19 -target bpf -M -I"$WORK/gen" -I/usr/include/x86_64-linux-gnu \
			"$WORK/gen/android_media.bpf.c" | tr ' \\' '\n\n' | grep '^/usr/include/'); do
			mkdir -p "$WORK/root$(dirname "$h")"
			cp "$h" "$WORK/root$h"
		done
	fi
	for p in "$KTOP"/examples/*.fspol; do compile "$p" "$share/examples"; done
	for p in "${POLICIES[@]}"; do compile "$p" "$WORK/root/p"; done
fi
{
	echo '#!/bin/sh'
	# programs added under /usr/bin; /run for fsrun's control sockets
	echo 'export PATH=$PATH:/usr/bin; mkdir -p /run'
	printf '%q ' "$@"
	echo
} >"$WORK/root/cmd.sh"
chmod +x "$WORK/root/cmd.sh"
for pair in "${ADD[@]}"; do
	host=${pair%%:*}
	guest=${pair#*:}
	case $guest in
	/*) ;;
	*) echo "run-vm: --add $pair: the guest path must be absolute" >&2; exit 2 ;;
	esac
	if [ ! -f "$host" ]; then
		echo "run-vm: --add $pair: no such file: $host" >&2
		exit 2
	fi
	mkdir -p "$WORK/root$(dirname "$guest")"
	cp "$host" "$WORK/root$guest"
done
for pair in "${EXES[@]}"; do
	host=${pair%%:*}
	guest=${pair#*:}
	case $guest in
	/*) ;;
	*) echo "run-vm: --add-exe $pair: the guest path must be absolute" >&2; exit 2 ;;
	esac
	if [ ! -x "$host" ]; then
		echo "run-vm: --add-exe $pair: not an executable: $host" >&2
		exit 2
	fi
	mkdir -p "$WORK/root$(dirname "$guest")"
	objcopy --strip-debug "$host" "$WORK/root$guest"
	for lib in $(ldd "$host" 2>/dev/null | grep -o '/[^ ]*' || true); do
		[ -e "$WORK/root$lib" ] && continue
		mkdir -p "$WORK/root$(dirname "$lib")"
		cp -L "$lib" "$WORK/root$lib"
	done
done
(cd "$WORK/root" && find . -mindepth 1 | sed 's|^\./||' | cpio -o -H newc --quiet | gzip -1) \
	>"$WORK/cmd.cpio.gz"
cat "$B/initramfs.cpio.gz" "$WORK/cmd.cpio.gz" >"$WORK/initrd"

[ -n "$LOG" ] || LOG=$(mktemp /tmp/fspol-vm-XXXXXX.log)
t0=$(date +%s.%N)
timeout --foreground -k 5 "$TIMEOUT" "$QEMU" -accel tcg -M pc -cpu max \
	-smp 1 -m $((WITH_FSC ? 2048 : 1024)) -nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$B/bzImage" -initrd "$WORK/initrd" \
	-append "console=ttyS0 panic=-1 oops=panic quiet loglevel=4 rdinit=/init$APPEND" \
	</dev/null 2>&1 | tr -d '\r' |
	sed -u -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' | tee "$LOG"
qrc=${PIPESTATUS[0]}
t1=$(date +%s.%N)
echo "run-vm: qemu exited $qrc after $(echo "$t1 - $t0" | bc) s" >&2
rc=$(grep -a -o 'FSPOL_VM_EXIT=[0-9]*' "$LOG" | tail -1 | cut -d= -f2)
if [ "$qrc" = 124 ]; then
	echo "run-vm: TIMEOUT after ${TIMEOUT}s; serial log kept at $LOG" >&2
	exit 124
fi
if [ -z "$rc" ]; then
	echo "run-vm: guest did not report a status (crash?); serial log kept at $LOG" >&2
	exit 125
fi
if [ "$rc" != 0 ] || [ $KEEP = 1 ]; then
	echo "run-vm: guest command exited $rc; serial log kept at $LOG" >&2
else
	rm -f "$LOG"
fi
exit "$rc"
