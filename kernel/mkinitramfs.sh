#!/bin/bash
# mkinitramfs.sh TESTDIR OUT.cpio.gz
# Build the base initramfs for the selftest VM: busybox-static, /init, every
# executable in TESTDIR (copied to /tests) with its shared libraries, and the
# BPF objects (*.bpf.o) next to them.
set -euo pipefail
TESTS=$1
OUT=$2
ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT

mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,tmp,tests,etc,root,mnt}
chmod 755 "$ROOT" "$ROOT"/{bin,sbin,dev,proc,sys,tests,etc,mnt}
chmod 1777 "$ROOT/tmp"
cp /bin/busybox "$ROOT/bin/busybox"
for app in $("$ROOT/bin/busybox" --list); do
	[ "$app" = busybox ] || ln -sf busybox "$ROOT/bin/$app"
done

copy_with_libs() {
	local f=$1 dst=$2 lib
	cp "$f" "$dst"
	for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true); do
		[ -e "$ROOT$lib" ] && continue
		mkdir -p "$ROOT$(dirname "$lib")"
		cp -L "$lib" "$ROOT$lib"
	done
}

for f in "$TESTS"/*; do
	[ -f "$f" ] || continue
	case $f in
	*.bpf.o) cp "$f" "$ROOT/tests/" ;;
	*.o | *.d | *.h | *.c) ;;
	*) [ -x "$f" ] && copy_with_libs "$f" "$ROOT/tests/" ;;
	esac
done

cat >"$ROOT/init" <<'INIT'
#!/bin/sh
# fspol selftest VM init: mount the basics, run /cmd.sh (added per run by
# run-vm.sh), report its status on the console and power off.
export PATH=/tests:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
echo 1 >/proc/sys/kernel/panic_on_oops 2>/dev/null
cd /tmp
if [ -x /cmd.sh ]; then
	/cmd.sh
	rc=$?
else
	echo "init: no /cmd.sh"
	rc=125
fi
echo "FSPOL_VM_EXIT=$rc"
sync
reboot -f
INIT
chmod +x "$ROOT/init"
(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT.new"
mv "$OUT.new" "$OUT"
