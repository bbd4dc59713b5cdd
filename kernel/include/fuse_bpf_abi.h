/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fuse_bpf_abi.h - the fuse-bpf v3 struct_ops ABI as implemented by fspol's
 * kernel (kernel/patches/), for BPF programs and for userspace.
 *
 * BPF programs that include a vmlinux.h generated from a fuse-bpf kernel
 * define FUSE_BPF_ABI_HAVE_VMLINUX first: they then only get the constants
 * and the kfunc declarations from this header (the types come from BTF).
 * Everything else gets the full set of types, with the same layout as the
 * kernel's.  BPF programs include <bpf/bpf_helpers.h> first (for __ksym).
 *
 * Target notes for Linux 6.1 + fspol's series: no bpf_dynptr_slice(_rdwr)
 * and no bpf_iter_num; copy names out with bpf_dynptr_read() into a stack
 * buffer and compare there (bpf_strncmp works on it); bpf_loop exists.
 * bpf_get_current_uid_gid()/bpf_get_current_pid_tgid() are allowed when
 * FUSE_BPF_FEATURE_DIR/FUSE_BPF_FEATURE_UID_GID exists, and
 * bpf_get_current_comm() when FUSE_BPF_FEATURE_DIR/FUSE_BPF_FEATURE_COMM
 * does.  Names of program sets: 1-14 characters from [A-Za-z0-9_.].
 */
#ifndef FSPOL_FUSE_BPF_ABI_H
#define FSPOL_FUSE_BPF_ABI_H

/* Filter return codes (include/uapi/linux/bpf.h of the series) */
#define BPF_FUSE_CONTINUE		0
#define BPF_FUSE_USER			1
#define BPF_FUSE_USER_PREFILTER		2
#define BPF_FUSE_POSTFILTER		3
#define BPF_FUSE_USER_POSTFILTER	4

/* Filter stage bits in bpf_fuse_meta_info.opcode and fuse_in_header.opcode */
#define FUSE_OPCODE_FILTER	0x0ffff
#define FUSE_PREFILTER		0x10000
#define FUSE_POSTFILTER		0x20000

/* struct fuse_buffer flags */
#define BPF_FUSE_IMMUTABLE	(1 << 0)
#define BPF_FUSE_VARIABLE_SIZE	(1 << 1)
#define BPF_FUSE_MUST_ALLOCATE	(1 << 2)
#define BPF_FUSE_MODIFIED	(1 << 3)
#define BPF_FUSE_ALLOCATED	(1 << 4)

/* Lookup answers (include/uapi/linux/fuse.h of the series) */
#define FUSE_BPF_MAX_ENTRIES	2
#ifndef BPF_FUSE_NAME_MAX
#define BPF_FUSE_NAME_MAX	15
#endif
#define FUSE_ENTRY_BACKING		1
#define FUSE_ENTRY_BPF			2
#define FUSE_ENTRY_REMOVE_BACKING	3
#define FUSE_ENTRY_REMOVE_BPF		4

/* Extension type carrying error_in in daemon postfilter requests */
#define FUSE_ERROR_IN		33

/* /dev/fuse ioctl for replies carrying fuse_bpf_entry_out records */
#define FUSE_DEV_IOC_BPF_RESPONSE_NR	125
#define FUSE_DEV_IOC_BPF_RESPONSE(N)	_IOW(229, 125, char[N])
/* /dev/fuse ioctls reassigning a mount's program sets (fsrun reload) */
#define FUSE_DEV_IOC_BPF_NODES		_IOWR(229, 126, struct fuse_bpf_nodes)
#define FUSE_DEV_IOC_BPF_ASSIGN		_IOWR(229, 127, struct fuse_bpf_assigns)
#define FUSE_BPF_NODE_BACKED		(1 << 0)
#define FUSE_BPF_NODE_BAD		(1 << 1)
#define FUSE_BPF_ASSIGN_SET		0
#define FUSE_BPF_ASSIGN_REMOVE		1
#define FUSE_BPF_ASSIGN_BAD		2

/*
 * Node ids the kernel gives to inodes it creates for backing files by itself
 * (fspol deviation from the RFC, which used 0).
 */
#define FUSE_BPF_NODEID_BASE	(1ULL << 62)

/* Feature files under /sys/fs/fuse/features/ ("supported\n") */
#define FUSE_BPF_FEATURE_DIR		"/sys/fs/fuse/features"
#define FUSE_BPF_FEATURE_BPF		"fuse_bpf"
#define FUSE_BPF_FEATURE_UID_GID	"bpf_uid_gid"	/* helpers in fuse_ops */
#define FUSE_BPF_FEATURE_COMM		"bpf_comm"	/* bpf_get_current_comm too */
#define FUSE_BPF_FEATURE_NO_DAEMON	"no_daemon"
#define FUSE_BPF_FEATURE_ASSIGN		"bpf_assign"	/* FUSE_DEV_IOC_BPF_NODES, _ASSIGN */
#define FUSE_BPF_FEATURE_VIEW_NAME	"bpf_view_name"	/* lookup postfilters see the view's name */
#define FUSE_BPF_FEATURE_STATE		"bpf_state"	/* a state per node, for its filters */

#ifndef FUSE_BPF_ABI_HAVE_VMLINUX

#include <linux/types.h>
#ifdef __bpf__
/*
 * BPF C has no libc: the fixed-width names come from the uapi types, and
 * libc's <stdint.h> (which <linux/fuse.h> includes outside the kernel) is
 * kept out by its include guard.
 */
#define _STDINT_H 1
typedef __s8 int8_t;
typedef __u8 uint8_t;
typedef __s16 int16_t;
typedef __u16 uint16_t;
typedef __s32 int32_t;
typedef __u32 uint32_t;
typedef __s64 int64_t;
typedef __u64 uint64_t;
#else
#include <stdint.h>
#endif

struct fuse_buffer {
	void *data;
	unsigned int size;
	unsigned int alloc_size;
	unsigned int max_size;
	int flags;
};

struct bpf_fuse_meta_info {
	uint64_t nodeid;
	uint32_t opcode;
	uint32_t error_in;
	uint32_t error_out;
	uint32_t state;		/* the node's state (FUSE_BPF_FEATURE_STATE) */
};

struct fuse_bpf_entry_out {
	uint32_t entry_type;
	uint32_t state;		/* FUSE_ENTRY_BPF: the node's state; else 0 */
	union {
		struct {
			uint64_t unused2;
			uint64_t fd;
		};
		char name[BPF_FUSE_NAME_MAX + 1];
	};
};

struct fuse_read_iter_out {
	uint64_t ret;
};

struct fuse_write_iter_out {
	uint64_t ret;
};

struct fuse_read_out {
	uint64_t offset;
	uint32_t again;
	uint32_t padding;
};

/*
 * FUSE_DEV_IOC_BPF_NODES: one record per inode of the connection, followed
 * by namelen bytes of one of its names, padded to 8 bytes.
 */
struct fuse_bpf_node {
	uint64_t nodeid;
	uint64_t parent;	/* node id of its name's directory, 0: no name */
	uint32_t mode;
	uint16_t flags;		/* FUSE_BPF_NODE_* */
	uint16_t namelen;
	char set[BPF_FUSE_NAME_MAX + 1];	/* its program set, "": none */
	uint32_t state;		/* its state */
	uint32_t padding;
};

struct fuse_bpf_nodes {
	uint64_t buf;
	uint32_t size;		/* bytes at buf */
	uint32_t count;		/* out: records written */
	uint64_t needed;	/* out: bytes every record takes */
};

/*
 * FUSE_DEV_IOC_BPF_ASSIGN: new program sets for nodes (or bad nodes);
 * returns once every operation that began before it has ended.
 */
struct fuse_bpf_assign {
	uint64_t nodeid;
	uint32_t action;	/* FUSE_BPF_ASSIGN_* */
	uint32_t state;		/* FUSE_BPF_ASSIGN_SET: the node's state */
	char set[BPF_FUSE_NAME_MAX + 1];
};

struct fuse_bpf_assigns {
	uint64_t buf;		/* count records */
	uint32_t count;
	uint32_t done;		/* out: nodes found and changed */
};

/*
 * The struct_ops type: 64 callbacks in the v3 order (fuse_bpf_ops.def, one
 * table for this header and the code generator), then the name.
 */
#include <linux/fuse.h>

struct fuse_ops {
#define FUSE_BPF_OP(op, opcode, pre, post)	\
	uint32_t (*op##_prefilter)pre;		\
	uint32_t (*op##_postfilter)post;
#include "fuse_bpf_ops.def"
	char name[BPF_FUSE_NAME_MAX];
};

#endif /* FUSE_BPF_ABI_HAVE_VMLINUX */

#ifdef __bpf__
/* kfuncs (kernel/bpf/bpf_fuse.c) */
struct bpf_dynptr;
extern void bpf_fuse_get_ro_dynptr(const struct fuse_buffer *buffer,
				   struct bpf_dynptr *dynptr) __ksym;
extern void bpf_fuse_get_rw_dynptr(struct fuse_buffer *buffer,
				   struct bpf_dynptr *dynptr,
				   unsigned long long size, _Bool copy) __ksym;
extern unsigned int bpf_fuse_return_len(struct fuse_buffer *buffer) __ksym;
#endif

#endif /* FSPOL_FUSE_BPF_ABI_H */
