// SPDX-License-Identifier: GPL-2.0
/*
 * Programs the verifier must reject, one struct_ops set each (verifier_test
 * loads one at a time and looks for the reason in the log).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

extern void bpf_fuse_get_ro_dynptr(const struct fuse_buffer *buffer,
				   struct bpf_dynptr *dynptr) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset,
			      void *buffer, __u32 buffer__szk) __ksym;

#define BAD(n, body)							\
SEC("struct_ops/" #n)							\
__u32 BPF_PROG(n, const struct bpf_fuse_meta_info *meta,		\
	       struct fuse_buffer *name)				\
{									\
	body								\
}									\
SEC(".struct_ops")							\
struct fuse_ops n##_ops = {						\
	.lookup_prefilter = (void *)n,					\
	.name = #n,							\
};

/* fuse_buffer fields are read only */
BAD(bad_write, name->size = 1; return 0;)

/* its data pointer is the kernel's: read through the dynptr kfuncs */
BAD(bad_data, return name->data != 0;)

/* bpf_dynptr_slice gives read-only memory */
BAD(bad_ro_slice,
	struct bpf_dynptr dp;
	char *s;

	bpf_fuse_get_ro_dynptr(name, &dp);
	s = bpf_dynptr_slice(&dp, 0, 0, 1);
	if (s)
		s[0] = 'x';
	return 0;)

/* ... or NULL */
BAD(bad_null_slice,
	struct bpf_dynptr dp;
	const char *s;

	bpf_fuse_get_ro_dynptr(name, &dp);
	s = bpf_dynptr_slice(&dp, 0, 0, 1);
	return s[0];)

/* ... of a size the verifier knows */
BAD(bad_slice_size,
	struct bpf_dynptr dp;
	const char *s;

	bpf_fuse_get_ro_dynptr(name, &dp);
	s = bpf_dynptr_slice(&dp, 0, 0, name->size & 7);
	return s ? s[0] : 0;)
