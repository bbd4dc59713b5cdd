#!/bin/bash
# Developer tool: regenerate kernel/patches/ from an edited source tree.
#   kernel/scripts/mkpatches.sh
# Diffs $B/src (edited, patched tree) against $B/pristine (files extracted
# from /usr/src/linux-source-6.1.tar.xz) for each patch's file list, writes
# the series, and marks $B/src as carrying it (so build.sh does not re-apply).
set -euo pipefail
KDIR=$(cd "$(dirname "$0")/.." && pwd)
B=${FSPOL_KERNEL_BUILD_DIR:-$PWD/kernel-build}
P=$KDIR/patches
AUTHOR="fspol developers <fspol-dev@users.noreply.invalid>"

if [ ! -d "$B/pristine" ]; then
	mkdir -p "$B/pristine"
	tar -C "$B/pristine" --strip-components=1 \
		-xf /usr/src/linux-source-6.1.tar.xz \
		linux-source-6.1/fs/fuse linux-source-6.1/include \
		linux-source-6.1/kernel/bpf
fi

# patch number|subject|files|description
SERIES=(
"1|bpf: Allow 128 struct_ops members, kfunc-initialized dynptrs and dynptr slices|\
include/linux/bpf.h include/linux/bpf_verifier.h kernel/bpf/bpf_struct_ops.c \
kernel/bpf/btf.c kernel/bpf/verifier.c kernel/bpf/helpers.c|\
fuse_ops has 64 callbacks and a name: raise BPF_STRUCT_OPS_MAX_NR_MEMBERS
to 128 and give the struct_ops trampolines four pages instead of one.

A kfunc argument \"struct bpf_dynptr_kern *<name>__uninit\" is now an
uninitialized stack dynptr that the kfunc initializes as a local dynptr
(Linux 6.1 only accepts initialized ones).  Add bpf_dynptr_set_rdonly().

Backport bpf_dynptr_slice() and bpf_dynptr_slice_rdwr() (Linux 6.3) for
local dynptrs, for struct_ops, tracing and syscall programs: a kfunc
pointer argument named \"<name>__opt\" may be NULL, and a memory argument
followed by rdonly_buf_size/rdwr_buf_size is checked against that size.
bpf_strncmp() takes read-only memory (it only reads), so slices compare."
"2|fuse-bpf: Add uapi|\
include/uapi/linux/bpf.h include/uapi/linux/fuse.h|\
Filter return codes and stage bits (uapi/linux/bpf.h); lookup answer
records fuse_bpf_entry_out, the FUSE_ERROR_IN extension, the read/write
iter and readdir filter outputs and FUSE_DEV_IOC_BPF_RESPONSE(N)
(uapi/linux/fuse.h), as in the fuse-bpf v3 ABI."
"3|fuse-bpf: Add the fuse_ops struct_ops type and kfuncs|\
include/linux/bpf_fuse.h kernel/bpf/bpf_fuse.c \
kernel/bpf/bpf_struct_ops_types.h kernel/bpf/Makefile|\
struct fuse_ops with every v3 callback in order and a name; registration
by name with FUSE; the kfuncs bpf_fuse_get_ro_dynptr,
bpf_fuse_get_rw_dynptr and bpf_fuse_return_len.  Programs may write the
scalar fields of fuse_* argument structs, read (not write) the scalar
fields of struct fuse_buffer, and may call bpf_get_current_uid_gid and
bpf_get_current_pid_tgid.  A refused bpf_fuse_get_rw_dynptr leaves the
buffer as it was; memory it allocates (without sleeping) stays until the
operation ends, so no dynptr or slice of the program outlives it."
"4|fuse-bpf: Back FUSE inodes with lower files, filtered by BPF and the daemon|\
fs/fuse/Kconfig fs/fuse/Makefile fs/fuse/fuse_i.h fs/fuse/backing.c \
fs/fuse/inode.c fs/fuse/dir.c fs/fuse/file.c fs/fuse/readdir.c \
fs/fuse/xattr.c fs/fuse/dev.c|\
CONFIG_FUSE_BPF.  A FUSE inode may have a backing path and a fuse_ops
set: the root from the mount options root_dir=<fd> and root_bpf=<name>,
children from the kernel's own lookup in the backing directory or from a
daemon's lookup answer carrying fuse_bpf_entry_out records (only through
FUSE_DEV_IOC_BPF_RESPONSE), inherited by children.  Every fuse_ops
operation runs prefilter, backing operation, postfilter, with
FUSE_PREFILTER / FUSE_POSTFILTER requests to the daemon.  no_daemon
mounts work without a daemon.  Inodes the kernel creates get node ids
FUSE_BPF_NODEID_BASE + n instead of 0.  Lookup answers are checked as
FUSE checks a daemon's: not the root's nor the directory's own id, valid
attributes, and a backed node keeps its backing file's type.  /sys/fs/fuse/features/ lists
fuse_bpf, bpf_uid_gid and no_daemon."
)

rm -f "$P"/*.patch
mkdir -p "$P"
n=${#SERIES[@]}
for entry in "${SERIES[@]}"; do
	num=${entry%%|*}
	rest=${entry#*|}
	subject=${rest%%|*}
	rest=${rest#*|}
	files=${rest%%|*}
	desc=${rest#*|}
	name=$(printf '%04d-%s.patch' "$num" \
		"$(echo "$subject" | tr -c 'A-Za-z0-9\n' '-' | tr -s '-' |
			sed 's/-$//' | cut -c1-52)")
	{
		echo "From: $AUTHOR"
		echo "Subject: [PATCH $num/$n] $subject"
		echo
		echo "$desc"
		echo
		echo "Signed-off-by: $AUTHOR"
		echo "---"
		for f in $files; do
			a=$B/pristine/$f
			la=a/$f
			if [ ! -e "$a" ]; then
				a=/dev/null
				la=/dev/null
			fi
			(cd "$B" && diff -uN --label "$la" --label "b/$f" \
				"$a" "src/$f") || true
		done
		echo "-- "
		echo "fspol"
	} >"$P/$name"
done

# The tree now carries exactly this series.
rm -rf "$B/applied"
mkdir -p "$B/applied"
cp "$P"/*.patch "$B/applied/"
for p in "$KDIR"/patches/*.patch; do cat "$p"; done | sha256sum |
	cut -c1-16 >"$B/src/.fspol-patches"
ls -l "$P"
