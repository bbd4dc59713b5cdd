// SPDX-License-Identifier: GPL-2.0
/* Must be rejected by the verifier: writes a fuse_buffer field directly. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

SEC("struct_ops/bad_lookup_pre")
__u32 BPF_PROG(bad_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	name->size = 1;
	return 0;
}

SEC(".struct_ops")
struct fuse_ops bad_ops = {
	.lookup_prefilter = (void *)bad_lookup_pre,
	.name = "bad_ops",
};
