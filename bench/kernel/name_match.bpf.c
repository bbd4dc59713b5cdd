// SPDX-License-Identifier: GPL-2.0
/*
 * Four ways for a lookup prefilter to walk its name through a DFA table, to
 * choose between bpf_dynptr_slice (backported to our 6.1) and the copy
 * fsc's fspol-6.1 profile emits (bench/kernel/name_match.sh):
 *   nm_none   reads nothing (the cost of the filter call itself)
 *   nm_copy   bpf_dynptr_read of the whole name onto the stack, then one
 *             bpf_loop step per byte (what fsc emits)
 *   nm_slice  one bpf_dynptr_slice of 1 byte per bpf_loop step
 *   nm_chunk  bpf_dynptr_slice of 8 bytes per step, 1-byte slices for the
 *             tail
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define FUSE_BPF_ABI_HAVE_VMLINUX
#include "fuse_bpf_abi.h"

char _license[] SEC("license") = "GPL";

extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset,
			      void *buffer, __u32 buffer__szk) __ksym;

#define NM_NAME_MAX 256
#define NM_STATES 16

/* A stand-in DFA: the verifier sees unknown bytes, as in fsc's tables */
const volatile __u8 next_state[NM_STATES * 256];
__u64 sink;

/* One DFA step, bounded as fsc's are */
static __always_inline __u32 STEP(__u32 state, __u8 byte)
{
	__u32 idx = (state & (NM_STATES - 1)) * 256 + byte;

	/* keep the check: 6.1's verifier loses the bounds of the OR clang makes */
	asm volatile("" : "+r"(idx));
	if (idx >= NM_STATES * 256)
		return 0;
	return next_state[idx];
}

struct walk_copy {
	__u32 state;
	__u32 len;
	__u8 name[NM_NAME_MAX];
};

struct walk_slice {
	__u32 state;
	__u32 len;
	struct bpf_dynptr dp;
};

static long step_copy(__u32 i, void *ctx)
{
	struct walk_copy *w = ctx;

	if (i >= w->len || i >= NM_NAME_MAX)
		return 1;
	w->state = STEP(w->state, w->name[i]);
	return 0;
}

static long step_slice(__u32 i, void *ctx)
{
	struct walk_slice *w = ctx;
	const __u8 *c;

	if (i >= w->len)
		return 1;
	c = bpf_dynptr_slice(&w->dp, i, NULL, 1);
	if (!c)
		return 1;
	w->state = STEP(w->state, c[0]);
	return 0;
}

static long step_chunk(__u32 i, void *ctx)
{
	struct walk_slice *w = ctx;
	__u32 off = i * 8, k;
	const __u8 *c;

	if (off >= w->len)
		return 1;
	c = bpf_dynptr_slice(&w->dp, off, NULL, 8);
	if (c) {
		for (k = 0; k < 8; k++)
			w->state = STEP(w->state, c[k]);
		return 0;
	}
	for (k = 0; k < 8; k++) {
		if (off + k >= w->len)
			return 1;
		c = bpf_dynptr_slice(&w->dp, off + k, NULL, 1);
		if (!c)
			return 1;
		w->state = STEP(w->state, c[0]);
	}
	return 1;
}

SEC("struct_ops/nm_none_lookup")
__u32 BPF_PROG(nm_none_lookup, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	sink++;
	return BPF_FUSE_CONTINUE;
}

SEC("struct_ops/nm_copy_lookup")
__u32 BPF_PROG(nm_copy_lookup, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	struct walk_copy w;
	struct bpf_dynptr dp;
	__u32 len = name->size;

	bpf_fuse_get_ro_dynptr(name, &dp);
	if (len == 0 || len > NM_NAME_MAX)
		return BPF_FUSE_CONTINUE;
	if (bpf_dynptr_read(w.name, len, &dp, 0, 0))
		return BPF_FUSE_CONTINUE;
	w.state = 0;
	w.len = len;
	bpf_loop(NM_NAME_MAX, step_copy, &w, 0);
	sink += w.state;
	return BPF_FUSE_CONTINUE;
}

static __always_inline __u32 walk_slices(struct fuse_buffer *name,
					 bool chunks)
{
	struct walk_slice w = { .len = name->size };

	bpf_fuse_get_ro_dynptr(name, &w.dp);
	if (chunks)
		bpf_loop(NM_NAME_MAX / 8, step_chunk, &w, 0);
	else
		bpf_loop(NM_NAME_MAX, step_slice, &w, 0);
	sink += w.state;
	return BPF_FUSE_CONTINUE;
}

SEC("struct_ops/nm_slice_lookup")
__u32 BPF_PROG(nm_slice_lookup, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	return walk_slices(name, false);
}

SEC("struct_ops/nm_chunk_lookup")
__u32 BPF_PROG(nm_chunk_lookup, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	return walk_slices(name, true);
}

#define SET(n)							\
SEC(".struct_ops")						\
struct fuse_ops n = {						\
	.lookup_prefilter = (void *)n##_lookup,			\
	.name = #n,						\
};
SET(nm_none)
SET(nm_copy)
SET(nm_slice)
SET(nm_chunk)
