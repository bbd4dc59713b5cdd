/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fsp_harness.h - one request for a policy's harness program: `fsc verify`
 * fills it in, runs the SEC("syscall") program fsp_harness with
 * BPF_PROG_TEST_RUN (ctx in and out), and reads the result back. The
 * harness calls the same decision functions as the fuse_ops programs.
 * Include <linux/fuse.h> (or fuse_bpf_abi.h) first.
 */
#ifndef FSP_HARNESS_H
#define FSP_HARNESS_H

#define FSP_NAME_MAX 256

struct fsp_harness_req {
	__u32 set;		/* the node's program set (a directory's, for a name) */
	__u32 callback;		/* index in fuse_bpf_ops.def */
	__u32 post;		/* 0: prefilter, 1: postfilter */
	__u32 uid;
	__u32 gid;
	__u32 arg;		/* open flags, setattr valid, access mask */
	__u32 type;		/* lookup postfilter: the child's file type bit */
	char comm[16];		/* the caller's process name, as the kernel cuts it */
	__u32 name_len;		/* bytes of name, without a NUL */
	char name[FSP_NAME_MAX];
	struct fuse_attr attr;	/* postfilters with attributes: in and out */
	/* results */
	__s32 result;		/* the filter's return value */
	__s32 child_set;	/* lookup postfilter: the set it attaches, or -1 */
	__s32 child_class;	/* by-name callbacks: the class of the name */
	__u32 lower_len;	/* lookup prefilter: bytes of the name it looks up */
	char lower[FSP_NAME_MAX];	/* that name (a name map's lower name) */
};

#endif /* FSP_HARNESS_H */
