// SPDX-License-Identifier: GPL-2.0
/*
 * fuse_ops program sets for fspol's fuse-bpf selftests (kernel/tests).
 * Compiled against a vmlinux.h generated from the built kernel's BTF.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define FUSE_BPF_ABI_HAVE_VMLINUX
#include "fuse_bpf_abi.h"

#define ENOENT 2
#define ENOMEM 12
#define EEXIST 17
#define EPERM 1

char _license[] SEC("license") = "GPL";

/* Linux 6.3's slice kfuncs, backported by our patch 0001 */
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset,
			      void *buffer, __u32 buffer__szk) __ksym;
extern void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, __u32 offset,
				   void *buffer, __u32 buffer__szk) __ksym;

/* Counters the tests read back through the .bss map (see fuse_test.c) */
struct counters {
	__u64 pre[64];		/* prefilter calls by opcode & 63 */
	__u64 post[64];		/* postfilter calls by opcode & 63 */
	__s64 last_error_in;	/* error_in seen by the last postfilter */
	__u64 slice_hits;	/* the slices set: names it sliced */
	__u64 slice_bad;	/* slices it must not have got */
} cnt;

#define OP(meta) ((meta)->opcode & FUSE_OPCODE_FILTER)

static __always_inline void count_pre(const struct bpf_fuse_meta_info *meta)
{
	__sync_fetch_and_add(&cnt.pre[OP(meta) & 63], 1);
}

static __always_inline void count_post(const struct bpf_fuse_meta_info *meta)
{
	__sync_fetch_and_add(&cnt.post[OP(meta) & 63], 1);
	cnt.last_error_in = (__s32)meta->error_in;
}

/* Copy a name buffer out (names are short in the tests) */
static __always_inline int read_name(const struct fuse_buffer *name,
				     char *buf, unsigned int bufsz)
{
	struct bpf_dynptr dp;
	unsigned int len;

	bpf_fuse_get_ro_dynptr(name, &dp);
	len = bpf_fuse_return_len((struct fuse_buffer *)name);
	if (len > 32)
		len = 32;
	if (len == 0)
		return -1;
	return bpf_dynptr_read(buf, len, &dp, 0, 0);
}

#define NAME_IS(buf, lit) (bpf_strncmp(buf, 32, lit) == 0)

/* ---- pass_count: everything goes to the backing file, counted ------- */

#define PRE1(set, fn, T1)						\
SEC("struct_ops/" #set "_" #fn)						\
__u32 BPF_PROG(set##_##fn, const struct bpf_fuse_meta_info *meta, T1 a)	\
{									\
	count_pre(meta);						\
	return BPF_FUSE_POSTFILTER;					\
}
#define POST1(set, fn, T1)						\
SEC("struct_ops/" #set "_" #fn)						\
__u32 BPF_PROG(set##_##fn, const struct bpf_fuse_meta_info *meta, T1 a)	\
{									\
	count_post(meta);						\
	return BPF_FUSE_CONTINUE;					\
}
#define POST2(set, fn, T1, T2)						\
SEC("struct_ops/" #set "_" #fn)						\
__u32 BPF_PROG(set##_##fn, const struct bpf_fuse_meta_info *meta, T1 a,	\
	       T2 b)							\
{									\
	count_post(meta);						\
	return BPF_FUSE_CONTINUE;					\
}
#define PRE2(set, fn, T1, T2)						\
SEC("struct_ops/" #set "_" #fn)						\
__u32 BPF_PROG(set##_##fn, const struct bpf_fuse_meta_info *meta, T1 a,	\
	       T2 b)							\
{									\
	count_pre(meta);						\
	return BPF_FUSE_POSTFILTER;					\
}
#define POST3(set, fn, T1, T2, T3)					\
SEC("struct_ops/" #set "_" #fn)						\
__u32 BPF_PROG(set##_##fn, const struct bpf_fuse_meta_info *meta, T1 a,	\
	       T2 b, T3 c)						\
{									\
	count_post(meta);						\
	return BPF_FUSE_CONTINUE;					\
}
#define PRE3(set, fn, T1, T2, T3)					\
SEC("struct_ops/" #set "_" #fn)						\
__u32 BPF_PROG(set##_##fn, const struct bpf_fuse_meta_info *meta, T1 a,	\
	       T2 b, T3 c)						\
{									\
	count_pre(meta);						\
	return BPF_FUSE_POSTFILTER;					\
}
#define POST4(set, fn, T1, T2, T3, T4)					\
SEC("struct_ops/" #set "_" #fn)						\
__u32 BPF_PROG(set##_##fn, const struct bpf_fuse_meta_info *meta, T1 a,	\
	       T2 b, T3 c, T4 d)					\
{									\
	count_post(meta);						\
	return BPF_FUSE_CONTINUE;					\
}

SEC("struct_ops/pc_statfs_pre")
__u32 BPF_PROG(pc_statfs_pre, const struct bpf_fuse_meta_info *meta)
{
	count_pre(meta);
	return BPF_FUSE_POSTFILTER;
}

PRE1(pc, open_pre, struct fuse_open_in *)
POST2(pc, open_post, const struct fuse_open_in *, struct fuse_open_out *)
PRE1(pc, opendir_pre, struct fuse_open_in *)
POST2(pc, opendir_post, const struct fuse_open_in *, struct fuse_open_out *)
PRE2(pc, create_pre, struct fuse_create_in *, struct fuse_buffer *)
POST4(pc, create_post, const struct fuse_create_in *,
      const struct fuse_buffer *, struct fuse_entry_out *,
      struct fuse_open_out *)
PRE1(pc, release_pre, struct fuse_release_in *)
PRE1(pc, releasedir_pre, struct fuse_release_in *)
PRE1(pc, flush_pre, struct fuse_flush_in *)
PRE1(pc, lseek_pre, struct fuse_lseek_in *)
POST2(pc, lseek_post, const struct fuse_lseek_in *, struct fuse_lseek_out *)
PRE1(pc, fsync_pre, struct fuse_fsync_in *)
PRE2(pc, getxattr_pre, struct fuse_getxattr_in *, struct fuse_buffer *)
PRE1(pc, listxattr_pre, struct fuse_getxattr_in *)
PRE3(pc, setxattr_pre, struct fuse_setxattr_in *, struct fuse_buffer *,
     struct fuse_buffer *)
PRE1(pc, removexattr_pre, struct fuse_buffer *)
PRE1(pc, read_pre, struct fuse_read_in *)
POST2(pc, read_post, const struct fuse_read_in *, struct fuse_read_iter_out *)
PRE1(pc, write_pre, struct fuse_write_in *)
POST2(pc, write_post, const struct fuse_write_in *,
      struct fuse_write_iter_out *)
PRE1(pc, fallocate_pre, struct fuse_fallocate_in *)
PRE1(pc, lookup_pre, struct fuse_buffer *)
POST3(pc, lookup_post, const struct fuse_buffer *, struct fuse_entry_out *,
      struct fuse_buffer *)
PRE2(pc, mknod_pre, struct fuse_mknod_in *, struct fuse_buffer *)
PRE2(pc, mkdir_pre, struct fuse_mkdir_in *, struct fuse_buffer *)
POST2(pc, mkdir_post, const struct fuse_mkdir_in *, const struct fuse_buffer *)
PRE1(pc, rmdir_pre, struct fuse_buffer *)
PRE3(pc, rename2_pre, struct fuse_rename2_in *, struct fuse_buffer *,
     struct fuse_buffer *)
PRE3(pc, rename_pre, struct fuse_rename_in *, struct fuse_buffer *,
     struct fuse_buffer *)
PRE1(pc, unlink_pre, struct fuse_buffer *)
PRE2(pc, link_pre, struct fuse_link_in *, struct fuse_buffer *)
PRE1(pc, getattr_pre, struct fuse_getattr_in *)
POST2(pc, getattr_post, const struct fuse_getattr_in *, struct fuse_attr_out *)
PRE1(pc, setattr_pre, struct fuse_setattr_in *)
PRE1(pc, get_link_pre, struct fuse_buffer *)
PRE2(pc, symlink_pre, struct fuse_buffer *, struct fuse_buffer *)
PRE1(pc, readdir_pre, struct fuse_read_in *)
POST3(pc, readdir_post, const struct fuse_read_in *, struct fuse_read_out *,
      struct fuse_buffer *)
PRE1(pc, access_pre, struct fuse_access_in *)
POST1(pc, statfs_post, struct fuse_statfs_out *)

SEC(".struct_ops")
struct fuse_ops pass_count = {
	.open_prefilter = (void *)pc_open_pre,
	.open_postfilter = (void *)pc_open_post,
	.opendir_prefilter = (void *)pc_opendir_pre,
	.opendir_postfilter = (void *)pc_opendir_post,
	.create_open_prefilter = (void *)pc_create_pre,
	.create_open_postfilter = (void *)pc_create_post,
	.release_prefilter = (void *)pc_release_pre,
	.releasedir_prefilter = (void *)pc_releasedir_pre,
	.flush_prefilter = (void *)pc_flush_pre,
	.lseek_prefilter = (void *)pc_lseek_pre,
	.lseek_postfilter = (void *)pc_lseek_post,
	.fsync_prefilter = (void *)pc_fsync_pre,
	.getxattr_prefilter = (void *)pc_getxattr_pre,
	.listxattr_prefilter = (void *)pc_listxattr_pre,
	.setxattr_prefilter = (void *)pc_setxattr_pre,
	.removexattr_prefilter = (void *)pc_removexattr_pre,
	.read_iter_prefilter = (void *)pc_read_pre,
	.read_iter_postfilter = (void *)pc_read_post,
	.write_iter_prefilter = (void *)pc_write_pre,
	.write_iter_postfilter = (void *)pc_write_post,
	.file_fallocate_prefilter = (void *)pc_fallocate_pre,
	.lookup_prefilter = (void *)pc_lookup_pre,
	.lookup_postfilter = (void *)pc_lookup_post,
	.mknod_prefilter = (void *)pc_mknod_pre,
	.mkdir_prefilter = (void *)pc_mkdir_pre,
	.mkdir_postfilter = (void *)pc_mkdir_post,
	.rmdir_prefilter = (void *)pc_rmdir_pre,
	.rename2_prefilter = (void *)pc_rename2_pre,
	.rename_prefilter = (void *)pc_rename_pre,
	.unlink_prefilter = (void *)pc_unlink_pre,
	.link_prefilter = (void *)pc_link_pre,
	.getattr_prefilter = (void *)pc_getattr_pre,
	.getattr_postfilter = (void *)pc_getattr_post,
	.setattr_prefilter = (void *)pc_setattr_pre,
	.statfs_prefilter = (void *)pc_statfs_pre,
	.statfs_postfilter = (void *)pc_statfs_post,
	.get_link_prefilter = (void *)pc_get_link_pre,
	.symlink_prefilter = (void *)pc_symlink_pre,
	.readdir_prefilter = (void *)pc_readdir_pre,
	.readdir_postfilter = (void *)pc_readdir_post,
	.access_prefilter = (void *)pc_access_pre,
	.name = "pass_count",
};

/* ---- test_trace: the RFC's mixed BPF/daemon set ----------------------- */

SEC("struct_ops/tt_lookup_pre")
__u32 BPF_PROG(tt_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	char buf[32] = {};

	count_pre(meta);
	if (read_name(name, buf, sizeof(buf)))
		return BPF_FUSE_USER;
	if (NAME_IS(buf, "partial") || NAME_IS(buf, "file1") ||
	    NAME_IS(buf, "file2") || NAME_IS(buf, "dir2") ||
	    NAME_IS(buf, "real") || NAME_IS(buf, "dir"))
		return BPF_FUSE_POSTFILTER;
	return BPF_FUSE_USER;
}

SEC("struct_ops/tt_lookup_post")
__u32 BPF_PROG(tt_lookup_post, const struct bpf_fuse_meta_info *meta,
	       const struct fuse_buffer *name, struct fuse_entry_out *out,
	       struct fuse_buffer *entries)
{
	char buf[32] = {};

	count_post(meta);
	if (read_name(name, buf, sizeof(buf)))
		return BPF_FUSE_CONTINUE;
	if (NAME_IS(buf, "partial"))
		out->nodeid = 6;
	if (NAME_IS(buf, "real"))
		out->nodeid = 5;
	return BPF_FUSE_CONTINUE;
}

SEC("struct_ops/tt_open_pre")
__u32 BPF_PROG(tt_open_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_open_in *in)
{
	count_pre(meta);
	if (meta->nodeid == 5)
		return BPF_FUSE_CONTINUE;
	if (meta->nodeid == 6)
		return BPF_FUSE_USER_POSTFILTER;
	return BPF_FUSE_USER;
}

SEC("struct_ops/tt_read_pre")
__u32 BPF_PROG(tt_read_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_read_in *in)
{
	count_pre(meta);
	if (in->fh == 1 && in->offset == 0)
		return BPF_FUSE_USER;
	return BPF_FUSE_CONTINUE;
}

SEC("struct_ops/tt_getattr_pre")
__u32 BPF_PROG(tt_getattr_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_getattr_in *in)
{
	count_pre(meta);
	if (meta->nodeid == 1 || meta->nodeid == 5 || meta->nodeid == 6 ||
	    meta->nodeid >= FUSE_BPF_NODEID_BASE)
		return BPF_FUSE_CONTINUE;
	return BPF_FUSE_USER;
}

SEC("struct_ops/tt_setattr_pre")
__u32 BPF_PROG(tt_setattr_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_setattr_in *in)
{
	count_pre(meta);
	if (meta->nodeid == 1 || meta->nodeid == 5 || meta->nodeid == 6 ||
	    meta->nodeid >= FUSE_BPF_NODEID_BASE)
		return BPF_FUSE_CONTINUE;
	return BPF_FUSE_USER;
}

SEC("struct_ops/tt_opendir_pre")
__u32 BPF_PROG(tt_opendir_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_open_in *in)
{
	count_pre(meta);
	if (meta->nodeid == 1)
		return BPF_FUSE_POSTFILTER;
	return BPF_FUSE_USER;
}

SEC("struct_ops/tt_opendir_post")
__u32 BPF_PROG(tt_opendir_post, const struct bpf_fuse_meta_info *meta,
	       const struct fuse_open_in *in, struct fuse_open_out *out)
{
	count_post(meta);
	out->fh = 2;
	return BPF_FUSE_CONTINUE;
}

SEC("struct_ops/tt_readdir_pre")
__u32 BPF_PROG(tt_readdir_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_read_in *in)
{
	count_pre(meta);
	if (in->fh == 2)
		return BPF_FUSE_USER_POSTFILTER;
	return BPF_FUSE_USER;
}

SEC(".struct_ops")
struct fuse_ops test_trace = {
	.lookup_prefilter = (void *)tt_lookup_pre,
	.lookup_postfilter = (void *)tt_lookup_post,
	.open_prefilter = (void *)tt_open_pre,
	.read_iter_prefilter = (void *)tt_read_pre,
	.getattr_prefilter = (void *)tt_getattr_pre,
	.setattr_prefilter = (void *)tt_setattr_pre,
	.opendir_prefilter = (void *)tt_opendir_pre,
	.opendir_postfilter = (void *)tt_opendir_post,
	.readdir_prefilter = (void *)tt_readdir_pre,
	.name = "test_trace",
};

/* ---- trace_ops: root-level lookups are shown to the daemon first ------- */

SEC("struct_ops/tr_lookup_pre")
__u32 BPF_PROG(tr_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	count_pre(meta);
	if (meta->nodeid == 1)
		return BPF_FUSE_USER_PREFILTER;
	return BPF_FUSE_CONTINUE;
}

SEC("struct_ops/tr_readdir_pre")
__u32 BPF_PROG(tr_readdir_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_read_in *in)
{
	count_pre(meta);
	return BPF_FUSE_CONTINUE;
}

SEC("struct_ops/tr_read_pre")
__u32 BPF_PROG(tr_read_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_read_in *in)
{
	count_pre(meta);
	return BPF_FUSE_CONTINUE;
}

SEC(".struct_ops")
struct fuse_ops trace_ops = {
	.lookup_prefilter = (void *)tr_lookup_pre,
	.readdir_prefilter = (void *)tr_readdir_pre,
	.read_iter_prefilter = (void *)tr_read_pre,
	.name = "trace_ops",
};

/* ---- test_hidden: "hide" does not exist ------------------------------- */

SEC("struct_ops/th_lookup_pre")
__u32 BPF_PROG(th_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	char buf[32] = {};

	count_pre(meta);
	if (!read_name(name, buf, sizeof(buf)) && NAME_IS(buf, "hide"))
		return -ENOENT;
	return BPF_FUSE_CONTINUE;
}

SEC("struct_ops/th_create_pre")
__u32 BPF_PROG(th_create_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_create_in *in, struct fuse_buffer *name)
{
	count_pre(meta);
	return BPF_FUSE_CONTINUE;
}

SEC(".struct_ops")
struct fuse_ops test_hidden = {
	.lookup_prefilter = (void *)th_lookup_pre,
	.create_open_prefilter = (void *)th_create_pre,
	.name = "test_hidden",
};

/* ---- test_error: errors seen and rewritten by postfilters ------------- */

SEC("struct_ops/te_mkdir_pre")
__u32 BPF_PROG(te_mkdir_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_mkdir_in *in, struct fuse_buffer *name)
{
	count_pre(meta);
	return BPF_FUSE_POSTFILTER;
}

SEC("struct_ops/te_mkdir_post")
__u32 BPF_PROG(te_mkdir_post, const struct bpf_fuse_meta_info *meta,
	       const struct fuse_mkdir_in *in, const struct fuse_buffer *name)
{
	count_post(meta);
	if (meta->error_in == -EEXIST)
		return -EPERM;
	return BPF_FUSE_CONTINUE;
}

SEC("struct_ops/te_lookup_pre")
__u32 BPF_PROG(te_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	char buf[32] = {};

	count_pre(meta);
	/* "dir" looks absent, so mkdir reaches the backing directory */
	if (!read_name(name, buf, sizeof(buf)) && NAME_IS(buf, "dir"))
		return -ENOENT;
	return BPF_FUSE_POSTFILTER;
}

SEC("struct_ops/te_lookup_post")
__u32 BPF_PROG(te_lookup_post, const struct bpf_fuse_meta_info *meta,
	       const struct fuse_buffer *name, struct fuse_entry_out *out,
	       struct fuse_buffer *entries)
{
	char buf[32] = {};

	count_post(meta);
	if (!read_name(name, buf, sizeof(buf)) &&
	    NAME_IS(buf, "doesnotexist"))
		return BPF_FUSE_USER_POSTFILTER;
	return BPF_FUSE_CONTINUE;
}

SEC(".struct_ops")
struct fuse_ops test_error = {
	.mkdir_prefilter = (void *)te_mkdir_pre,
	.mkdir_postfilter = (void *)te_mkdir_post,
	.lookup_prefilter = (void *)te_lookup_pre,
	.lookup_postfilter = (void *)te_lookup_post,
	.name = "test_error",
};

/* ---- readdir_redact: the daemon edits listings ------------------------ */

SEC("struct_ops/rr_readdir_pre")
__u32 BPF_PROG(rr_readdir_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_read_in *in)
{
	count_pre(meta);
	return BPF_FUSE_POSTFILTER;
}

SEC("struct_ops/rr_readdir_post")
__u32 BPF_PROG(rr_readdir_post, const struct bpf_fuse_meta_info *meta,
	       const struct fuse_read_in *in, struct fuse_read_out *out,
	       struct fuse_buffer *buffer)
{
	count_post(meta);
	return BPF_FUSE_USER_POSTFILTER;
}

SEC(".struct_ops")
struct fuse_ops readdir_redact = {
	.readdir_prefilter = (void *)rr_readdir_pre,
	.readdir_postfilter = (void *)rr_readdir_post,
	.name = "readdir_redact",
};

/* ---- readdir_plus: directory listings always come from the daemon ------ */

SEC("struct_ops/rp_readdir_pre")
__u32 BPF_PROG(rp_readdir_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_read_in *in)
{
	count_pre(meta);
	return BPF_FUSE_USER;
}

SEC(".struct_ops")
struct fuse_ops readdir_plus = {
	.readdir_prefilter = (void *)rp_readdir_pre,
	.name = "readdir_plus",
};

/* ---- passthrough: lookup postfilter writes an entry -------------------- */

SEC("struct_ops/pt_lookup_pre")
__u32 BPF_PROG(pt_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	count_pre(meta);
	return BPF_FUSE_POSTFILTER;
}

SEC("struct_ops/pt_lookup_post")
__u32 BPF_PROG(pt_lookup_post, const struct bpf_fuse_meta_info *meta,
	       const struct fuse_buffer *name, struct fuse_entry_out *out,
	       struct fuse_buffer *entries)
{
	struct fuse_bpf_entry_out e = { .entry_type = FUSE_ENTRY_REMOVE_BPF };
	struct bpf_dynptr dp;

	count_post(meta);
	bpf_fuse_get_rw_dynptr(entries, &dp, sizeof(e), false);
	bpf_dynptr_write(&dp, 0, &e, sizeof(e), 0);
	return BPF_FUSE_USER_POSTFILTER;
}

SEC(".struct_ops")
struct fuse_ops passthrough = {
	.lookup_prefilter = (void *)pt_lookup_pre,
	.lookup_postfilter = (void *)pt_lookup_post,
	.name = "passthrough",
};

/* ---- lookup_post: every lookup is shown to the daemon afterwards ------- */

SEC("struct_ops/lp_lookup_pre")
__u32 BPF_PROG(lp_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	count_pre(meta);
	return BPF_FUSE_POSTFILTER;
}

SEC("struct_ops/lp_lookup_post")
__u32 BPF_PROG(lp_lookup_post, const struct bpf_fuse_meta_info *meta,
	       const struct fuse_buffer *name, struct fuse_entry_out *out,
	       struct fuse_buffer *entries)
{
	count_post(meta);
	return BPF_FUSE_USER_POSTFILTER;
}

SEC(".struct_ops")
struct fuse_ops lookup_post = {
	.lookup_prefilter = (void *)lp_lookup_pre,
	.lookup_postfilter = (void *)lp_lookup_post,
	.name = "lookup_post",
};

/* ---- uid_gate: caller conditions in the kernel (fspol extension) ------- */

SEC("struct_ops/ug_lookup_pre")
__u32 BPF_PROG(ug_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	__u64 uid_gid = bpf_get_current_uid_gid();

	count_pre(meta);
	if ((__u32)uid_gid != 0)
		return -EPERM;
	return BPF_FUSE_CONTINUE;
}

SEC(".struct_ops")
struct fuse_ops uid_gate = {
	.lookup_prefilter = (void *)ug_lookup_pre,
	.name = "uid_gate",
};

/* ---- redirect: a lookup prefilter renames the target ("alias" -> "real") */

SEC("struct_ops/rd_lookup_pre")
__u32 BPF_PROG(rd_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	static const char real[6] = "real";
	char buf[32] = {};
	struct bpf_dynptr dp;

	count_pre(meta);
	if (bpf_fuse_return_len(name) != 6)
		return BPF_FUSE_CONTINUE;
	/* a writable copy of the name (names must be copied first) */
	bpf_fuse_get_rw_dynptr(name, &dp, 6, true);
	if (bpf_dynptr_read(buf, 6, &dp, 0, 0) || !NAME_IS(buf, "alias"))
		return BPF_FUSE_CONTINUE;
	bpf_dynptr_write(&dp, 0, (void *)real, sizeof(real), 0);
	return BPF_FUSE_POSTFILTER;
}

/*
 * The postfilters see the name looked up, not the one the prefilter wrote
 * (fspol deviation 20): "alias" goes on to the daemon's postfilter, and a
 * rewritten name would fail the lookup.
 */
SEC("struct_ops/rd_lookup_post")
__u32 BPF_PROG(rd_lookup_post, const struct bpf_fuse_meta_info *meta,
	       const struct fuse_buffer *name, struct fuse_entry_out *out,
	       struct fuse_buffer *entries)
{
	char buf[32] = {};
	struct bpf_dynptr dp;

	count_post(meta);
	if (meta->error_in)
		return BPF_FUSE_CONTINUE;
	bpf_fuse_get_ro_dynptr(name, &dp);
	if (bpf_dynptr_read(buf, 6, &dp, 0, 0) || !NAME_IS(buf, "alias"))
		return -5;	/* EIO */
	return BPF_FUSE_USER_POSTFILTER;
}

SEC(".struct_ops")
struct fuse_ops redirect = {
	.lookup_prefilter = (void *)rd_lookup_pre,
	.lookup_postfilter = (void *)rd_lookup_post,
	.name = "redirect",
};

/*
 * ---- states: a state per node (fspol deviation 21). The lookup
 * postfilter gives "d" state 7, the lookup of "u" is the daemon's; open
 * refuses with the node's state as the errno.
 */
SEC("struct_ops/st_lookup_pre")
__u32 BPF_PROG(st_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	struct bpf_dynptr dp;
	char buf[8] = {};

	bpf_fuse_get_ro_dynptr(name, &dp);
	if (bpf_fuse_return_len(name) == 2 && !bpf_dynptr_read(buf, 2, &dp, 0, 0) &&
	    buf[0] == 'u')
		return BPF_FUSE_USER;
	return BPF_FUSE_POSTFILTER;
}

SEC("struct_ops/st_lookup_post")
__u32 BPF_PROG(st_lookup_post, const struct bpf_fuse_meta_info *meta,
	       const struct fuse_buffer *name, struct fuse_entry_out *out,
	       struct fuse_buffer *entries)
{
	struct fuse_bpf_entry_out e = {
		.entry_type = FUSE_ENTRY_BPF,
		.state = 7,
	};
	struct bpf_dynptr dp, edp;
	char buf[8] = {};

	if (meta->error_in)
		return BPF_FUSE_CONTINUE;
	bpf_fuse_get_ro_dynptr(name, &dp);
	if (bpf_fuse_return_len((struct fuse_buffer *)name) != 2 ||
	    bpf_dynptr_read(buf, 2, &dp, 0, 0) || buf[0] != 'd')
		return BPF_FUSE_CONTINUE;	/* the child keeps this state */
	__builtin_memcpy(e.name, "states", 7);
	bpf_fuse_get_rw_dynptr(entries, &edp, sizeof(e), false);
	return bpf_dynptr_write(&edp, 0, &e, sizeof(e), 0) ? -5 :
							       BPF_FUSE_CONTINUE;
}

SEC("struct_ops/st_open_pre")
__u32 BPF_PROG(st_open_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_open_in *in)
{
	return meta->state ? -(int)meta->state : BPF_FUSE_CONTINUE;
}

SEC(".struct_ops")
struct fuse_ops states = {
	.lookup_prefilter = (void *)st_lookup_pre,
	.lookup_postfilter = (void *)st_lookup_post,
	.open_prefilter = (void *)st_open_pre,
	.name = "states",
};

/*
 * ---- hostile: kfunc calls the verifier accepts with sizes no buffer takes.
 * Each is refused (a null dynptr) and must leave its buffer as it was;
 * a name rewritten without its NUL is not a name.
 */

SEC("struct_ops/ho_lookup_pre")
__u32 BPF_PROG(ho_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	struct bpf_dynptr dp;

	count_pre(meta);
	bpf_fuse_get_rw_dynptr(name, &dp, 4096, false);	/* > NAME_MAX + 1 */
	return BPF_FUSE_POSTFILTER;
}

SEC("struct_ops/ho_lookup_post")
__u32 BPF_PROG(ho_lookup_post, const struct bpf_fuse_meta_info *meta,
	       const struct fuse_buffer *name,
	       const struct fuse_entry_out *out, struct fuse_buffer *entries)
{
	struct bpf_dynptr dp1, dp2;

	/* inputs are immutable after the prefilter */
	bpf_fuse_get_rw_dynptr((struct fuse_buffer *)name, &dp1, 8, true);
	bpf_fuse_get_rw_dynptr(entries, &dp2, 1ULL << 40, false);
	return BPF_FUSE_USER_POSTFILTER;
}

SEC("struct_ops/ho_getxattr_pre")
__u32 BPF_PROG(ho_getxattr_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_getxattr_in *in, struct fuse_buffer *name)
{
	static const char junk[4] = { 'a', 'b', 'c', 'd' };
	struct bpf_dynptr dp1, dp2;

	count_pre(meta);
	bpf_fuse_get_rw_dynptr(name, &dp1, 0, false);
	bpf_fuse_get_rw_dynptr(name, &dp2, 4, false);	/* a fresh 4 bytes */
	bpf_dynptr_write(&dp2, 0, (void *)junk, sizeof(junk), 0);	/* no NUL */
	return BPF_FUSE_CONTINUE;
}

SEC(".struct_ops")
struct fuse_ops hostile = {
	.lookup_prefilter = (void *)ho_lookup_pre,
	.lookup_postfilter = (void *)ho_lookup_post,
	.getxattr_prefilter = (void *)ho_getxattr_pre,
	.name = "hostile",
};

/*
 * ---- hostile_ids: a lookup postfilter that answers node ids and types
 * the kernel must not trust blindly: the root's id for a child, id 0, the
 * parent's own id (a directory that contains itself), a directory mode
 * for a regular file, huge timeouts, a size past LLONG_MAX.
 */

SEC("struct_ops/hi_lookup_pre")
__u32 BPF_PROG(hi_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	return BPF_FUSE_POSTFILTER;
}

SEC("struct_ops/hi_lookup_post")
__u32 BPF_PROG(hi_lookup_post, const struct bpf_fuse_meta_info *meta,
	       const struct fuse_buffer *name, struct fuse_entry_out *out,
	       struct fuse_buffer *entries)
{
	char buf[32] = {};

	count_post(meta);
	if (meta->error_in || read_name(name, buf, sizeof(buf)) < 0)
		return BPF_FUSE_CONTINUE;
	if (NAME_IS(buf, "root"))
		out->nodeid = 1;
	else if (NAME_IS(buf, "zero"))
		out->nodeid = 0;
	else if (NAME_IS(buf, "self"))
		out->nodeid = meta->nodeid;
	else if (NAME_IS(buf, "type"))
		out->attr.mode = 0040755;
	else if (NAME_IS(buf, "long")) {
		out->entry_valid = ~0ULL;
		out->attr_valid = ~0ULL;
		out->generation = ~0ULL;
	} else if (NAME_IS(buf, "size"))
		out->attr.size = ~0ULL;
	return BPF_FUSE_CONTINUE;
}

SEC(".struct_ops")
struct fuse_ops hostile_ids = {
	.lookup_prefilter = (void *)hi_lookup_pre,
	.lookup_postfilter = (void *)hi_lookup_post,
	.name = "hostile_ids",
};

/*
 * ---- slices: names read and rewritten in place through bpf_dynptr_slice
 * and bpf_dynptr_slice_rdwr, as programs written for the RFC do ("hid" is
 * hidden, "slice" is looked up as "Slice"); reads name->size directly.
 */

SEC("struct_ops/sl_lookup_pre")
__u32 BPF_PROG(sl_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	struct bpf_dynptr ro, rw;
	const char *s;
	char *w;

	count_pre(meta);
	bpf_fuse_get_ro_dynptr(name, &ro);
	s = bpf_dynptr_slice(&ro, 0, NULL, 4);
	if (s && !bpf_strncmp(s, 4, "hid"))
		return -ENOENT;
	/* read-only, and past the end: no slice */
	if (bpf_dynptr_slice_rdwr(&ro, 0, NULL, 1) ||
	    bpf_dynptr_slice(&ro, name->size, NULL, 1))
		cnt.slice_bad++;
	s = bpf_dynptr_slice(&ro, 0, NULL, 6);
	if (!s || bpf_strncmp(s, 6, "slice"))
		return BPF_FUSE_CONTINUE;
	bpf_fuse_get_rw_dynptr(name, &rw, name->size, true);
	w = bpf_dynptr_slice_rdwr(&rw, 0, NULL, 1);
	if (!w)
		return -ENOMEM;
	w[0] = 'S';
	cnt.slice_hits++;
	return BPF_FUSE_CONTINUE;
}

SEC(".struct_ops")
struct fuse_ops slices = {
	.lookup_prefilter = (void *)sl_lookup_pre,
	.name = "slices",
};

/* ---- temp_set: registered and unregistered by unregister_test ---------- */

SEC("struct_ops/tmp_lookup_pre")
__u32 BPF_PROG(tmp_lookup_pre, const struct bpf_fuse_meta_info *meta,
	       struct fuse_buffer *name)
{
	count_pre(meta);
	return BPF_FUSE_CONTINUE;
}

SEC(".struct_ops")
struct fuse_ops temp_set = {
	.lookup_prefilter = (void *)tmp_lookup_pre,
	.name = "temp_set",
};
