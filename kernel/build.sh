#!/bin/bash
# Build fspol's fuse-bpf kernel (Debian linux-source-6.1 + kernel/patches/)
# and the selftest initramfs.
#
# Usage: kernel/build.sh [--no-install] [--kernel-only|--tests-only]
# Build directory: $FSPOL_KERNEL_BUILD_DIR (default: ./kernel-build).
# Layout: src/ (patched source), obj/ (kbuild O=), tests/ (selftest binaries),
#         bzImage, initramfs.cpio.gz, vmlinux.h, build.log.
# Exit status: 0 ok, 77 if a prerequisite outside our control is missing
# (packages cannot be installed), 1 on build failure.
set -euo pipefail

# Everything is in functions and main runs from the last line, so editing
# this file while it runs (bash reads scripts lazily) cannot break a run.
KDIR=$(cd "$(dirname "$0")" && pwd)

log() { echo "[kernel/build.sh $(date -u +%H:%M:%S)] $*"; }

PKGS="linux-source-6.1 build-essential flex bison bc libelf-dev libssl-dev
dwarves cpio kmod qemu-system-x86 busybox-static clang-19 llvm-19 libbpf-dev
bpftool xz-utils patch"

install_packages() {
	local missing=()
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing: ${missing[*]}"
	if [ "$(id -u)" != 0 ]; then
		echo "build.sh: missing packages ${missing[*]} and not root" >&2
		exit 77
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
		apt-get update && apt-get install -y --no-install-recommends \
			"${missing[@]}" || {
			echo "build.sh: cannot install ${missing[*]}" >&2
			exit 77
		}
	fi
}


patches_hash() {
	local p
	for p in "$KDIR"/patches/*.patch; do
		if [ -f "$p" ]; then cat "$p"; fi
	done | sha256sum | cut -c1-16
}

prepare_source() {
	local tarball=/usr/src/linux-source-6.1.tar.xz
	[ -f "$tarball" ] || { echo "build.sh: $tarball missing" >&2; exit 77; }
	if [ ! -f "$B/src/.fspol-extracted" ]; then
		log "extracting $tarball"
		rm -rf "$B/src" "$B/applied"
		mkdir -p "$B/src"
		tar -C "$B/src" --strip-components=1 -xf "$tarball"
		touch "$B/src/.fspol-extracted"
	fi
	local want have
	want=$(patches_hash)
	have=$(cat "$B/src/.fspol-patches" 2>/dev/null || echo none)
	[ "$want" = "$have" ] && return 0
	# Files the old or new series touch: remember them with their times,
	# so files whose content ends up unchanged keep their mtime and do
	# not trigger rebuilds (include/linux/bpf.h would rebuild half the
	# kernel).
	local f save=$B/save
	rm -rf "$save"
	mkdir -p "$save"
	touched_files >"$save/.list"
	while read -r f; do
		if [ -f "$B/src/$f" ]; then
			mkdir -p "$save/$(dirname "$f")"
			cp -p "$B/src/$f" "$save/$f"
		fi
	done <"$save/.list"
	# Revert what was applied before (saved copies), then apply the series.
	if [ -d "$B/applied" ]; then
		log "reverting previously applied patches"
		local p
		for p in $(ls "$B/applied"/*.patch 2>/dev/null | sort -r); do
			if ! patch -s -R -E -p1 -d "$B/src" <"$p"; then
				log "revert failed; re-extracting"
				rm -f "$B/src/.fspol-extracted"
				prepare_source
				return
			fi
		done
		rm -rf "$B/applied"
	fi
	mkdir -p "$B/applied"
	echo none >"$B/src/.fspol-patches"
	local p
	for p in "$KDIR"/patches/*.patch; do
		[ -f "$p" ] || continue
		log "applying $(basename "$p")"
		patch -s -p1 -d "$B/src" <"$p"
		cp "$p" "$B/applied/"
	done
	while read -r f; do
		if [ -f "$save/$f" ] && cmp -s "$save/$f" "$B/src/$f"; then
			touch -r "$save/$f" "$B/src/$f"
		fi
	done <"$save/.list"
	rm -rf "$save"
	echo "$want" >"$B/src/.fspol-patches"
}

# Paths (relative to the source) touched by the applied and the new series
touched_files() {
	local p
	for p in "$B"/applied/*.patch "$KDIR"/patches/*.patch; do
		if [ -f "$p" ]; then cat "$p"; fi
	done | sed -n 's|^+++ b/||p' | sed 's/[[:space:]].*//' | sort -u
}

configure() {
	mkdir -p "$B/obj"
	if [ ! -f "$B/obj/.config" ]; then
		log "configuring (tinyconfig + config.fragment)"
		nice -n "$NICE" make -s -C "$B/src" O="$B/obj" tinyconfig
	fi
	# Merge every time: symbols added by the patches (CONFIG_FUSE_BPF)
	# only exist once the series is applied.  Unchanged values do not
	# cause rebuilds.
	(cd "$B/obj" && "$B/src/scripts/kconfig/merge_config.sh" -m -O "$B/obj" \
		"$B/obj/.config" "$KDIR/config.fragment" >/dev/null)
	nice -n "$NICE" make -s -C "$B/src" O="$B/obj" olddefconfig
}

check_config() {
	local bad=0 line sym
	while read -r line; do
		case $line in
		CONFIG_*=y)
			# Symbols added by our patches are checked once they exist.
			sym=${line%%=*}
			sym=${sym#CONFIG_}
			grep -rqx --include='Kconfig*' "config $sym" "$B/src" ||
				continue
			grep -qx "$line" "$B/obj/.config" || {
				echo "build.sh: config lacks $line" >&2
				bad=1
			}
			;;
		esac
	done <"$KDIR/config.fragment"
	return $bad
}

build_kernel() {
	prepare_source
	configure
	check_config || { echo "build.sh: config check failed" >&2; exit 1; }
	log "building bzImage (-j$JOBS, nice $NICE)"
	local t0=$SECONDS
	nice -n "$NICE" make -s -C "$B/src" O="$B/obj" -j"$JOBS" bzImage
	cp "$B/obj/arch/x86/boot/bzImage" "$B/bzImage.new"
	mv "$B/bzImage.new" "$B/bzImage"
	log "bzImage done in $((SECONDS - t0))s"
	bpftool btf dump file "$B/obj/vmlinux" format c >"$B/vmlinux.h.new"
	mv "$B/vmlinux.h.new" "$B/vmlinux.h"
}

build_tests() {
	log "building selftests and initramfs"
	make -s -C "$KDIR/tests" B="$B" O="$B/tests" all
	"$KDIR/mkinitramfs.sh" "$B/tests" "$B/initramfs.cpio.gz"
}

main() {
	B=${FSPOL_KERNEL_BUILD_DIR:-$PWD/kernel-build}
	mkdir -p "$B"
	B=$(cd "$B" && pwd)
	JOBS=${FSPOL_KERNEL_JOBS:-$(nproc)}
	NICE=${FSPOL_KERNEL_NICE:-10}
	INSTALL=1
	WHAT=all
	local a
	for a in "$@"; do
		case $a in
		--no-install) INSTALL=0 ;;
		--kernel-only) WHAT=kernel ;;
		--tests-only) WHAT=tests ;;
		*) echo "build.sh: unknown argument $a" >&2; exit 2 ;;
		esac
	done
	if [ $INSTALL = 1 ]; then install_packages; fi
	case $WHAT in
	all) build_kernel; build_tests ;;
	kernel) build_kernel ;;
	tests) build_tests ;;
	esac
	log "ok"
}

main "$@"; exit $?
