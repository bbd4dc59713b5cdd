/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fsp_machine.h - the decision machine of fsc's generated filters: it runs
 * a policy's decisions, written as op tables (compiler/codegen/vm_ops.def,
 * docs/bpf.md "The decision machine"), one op per bpf_loop step. The same
 * code for every policy: only the tables grow with its rules.
 *
 * The generated C defines first: FSP_OP_* (vm_ops.def), FSP_OPS,
 * FSP_STEPS, FSP_CHILDREN, FSP_COMMS when a condition names processes,
 * struct fsp_caller, the tables fsp_ops and fsp_children, fsp_arg() and
 * fsp_comm_is().
 */
#ifndef FSP_MACHINE_H
#define FSP_MACHINE_H

/* The attributes a filter rewrites */
struct fsp_attrs {
	__u64 atime, mtime, ctime;
	__u32 atimensec, mtimensec, ctimensec, mode, uid, gid;
};

struct fsp_vm {
	struct fsp_caller c;
	struct fsp_attrs attr;
	__u32 pc;
	__u32 v;		/* the request's argument */
	__u32 child;		/* by name: the name's class */
	__u32 type;		/* the child's file type bit */
	__u32 lo, hi;		/* what a SEARCH has left to look at */
	__s32 child_set;
	__s32 result;
	__u32 attrs;		/* 1: the filter has attributes to rewrite */
	__u32 done;
};

static __always_inline void fsp_set_id(struct fsp_vm *m, __u32 field, __u32 id)
{
	if (field)
		m->attr.gid = id;
	else
		m->attr.uid = id;
}

static long fsp_vm_step(__u32 i, void *ctx)
{
	struct fsp_vm *m = ctx;
	const volatile struct fsp_op *o;
	__u32 pc = m->pc, field, a, b, c, id, mid;
	__s64 moved;
	__u64 time;
	bool yes = true;

	if (pc >= FSP_OPS)
		goto bad;
	/* bounds the copy the compiler may spill before the check, for 6.1 */
	barrier_var(pc);
	o = &fsp_ops[pc];
	field = o->op >> 8;
	a = o->a;
	b = o->b;
	c = o->c;
	id = field ? m->attr.gid : m->attr.uid;
	switch (o->op & 0xff) {
	case FSP_OP_RET:
		m->result = (__s32)a;
		m->done = 1;
		return 1;
	case FSP_OP_JMP:
		break;
	case FSP_OP_SEARCH:	/* one halving per step */
		if (m->lo == 0xffffffff) {
			m->lo = a;
			m->hi = a + b;
		}
		if (m->lo >= m->hi) {
			m->pc = o->f;
			return 0;
		}
		mid = m->lo + (m->hi - m->lo) / 2;
		if (mid >= FSP_CHILDREN)
			goto bad;
		barrier_var(mid);
		if (fsp_children[mid].cls == m->child)
			m->pc = fsp_children[mid].op;
		else if (fsp_children[mid].cls < m->child)
			m->lo = mid + 1;
		else
			m->hi = mid;
		return 0;
	case FSP_OP_TYPE:
		yes = m->type & a;
		break;
	case FSP_OP_ARG:
		yes = fsp_arg(a, m->v);
		break;
	case FSP_OP_VALID:
		yes = m->v & a;
		break;
	case FSP_OP_ATTRS:
		yes = m->attrs;
		break;
	case FSP_OP_UID:
		yes = m->c.uid >= a && m->c.uid <= b;
		break;
	case FSP_OP_GID:
		yes = m->c.gid >= a && m->c.gid <= b;
		break;
#ifdef FSP_COMMS
	case FSP_OP_COMM:
		yes = fsp_comm_is(&m->c, a);
		break;
#endif
	case FSP_OP_CHILD:
		m->child_set = (__s32)a;
		break;
	case FSP_OP_MODE:
		m->attr.mode = (m->attr.mode & ~07777U) | (m->attr.mode & 07777 & a) | b;
		break;
	case FSP_OP_ID_SET:
		fsp_set_id(m, field, a);
		break;
	case FSP_OP_ID_ADD:
		moved = (__s64)id + (__s64)((__u64)b << 32 | a);
		if (moved < 0 || moved > 0xfffffffeLL) {
			if (c)
				goto refuse;
			moved = 65534;	/* the overflow id */
		}
		fsp_set_id(m, field, (__u32)moved);
		break;
	case FSP_OP_ID_MAP:
		yes = id >= a && id <= b;
		if (yes)
			fsp_set_id(m, field, c + (id - a));
		break;
	case FSP_OP_ID_DENY:
		if (id >= a && id <= b) {
			c = 1; /* EPERM */
			goto refuse;
		}
		break;
	case FSP_OP_ID_EXPECT:
		if (id != a) {
			c = 1; /* EPERM */
			goto refuse;
		}
		fsp_set_id(m, field, 0xffffffff);
		break;
	case FSP_OP_TIME:
		time = (__u64)b << 32 | a;
		if (field == 0) {
			m->attr.atime = time;
			m->attr.atimensec = 0;
		} else if (field == 1) {
			m->attr.mtime = time;
			m->attr.mtimensec = 0;
		} else {
			m->attr.ctime = time;
			m->attr.ctimensec = 0;
		}
		break;
	default:
		goto bad;
	}
	m->pc = yes ? o->t : o->f;
	return 0;
refuse:
	m->result = -(__s32)c;
	m->done = 1;
	return 1;
bad:
	m->result = -5; /* EIO */
	m->done = 1;
	return 1;
}

/*
 * Runs the program at op `pc`: a filter's result, the child's state
 * (CHILD) and the attributes it rewrites. A run that does not end (a bug)
 * is EIO, never a default decision. A function of its own, so its state
 * is on the stack once, not at every call (a listing's stack is near
 * full); a BPF function takes five arguments.
 */
static __noinline int fsp_run(__u64 pc_child, __u64 v_type, const struct fsp_caller *c,
			      __s32 *child_set, struct fuse_attr *a)
{
	struct fsp_vm m = {
		.c = *c,
		.pc = pc_child >> 32,
		.v = v_type >> 32,
		.child = (__u32)pc_child,
		.type = (__u32)v_type,
		.lo = 0xffffffff,
		.child_set = *child_set,
		.result = -5,
	};

	if (a) {
		m.attrs = 1;
		m.attr.mode = a->mode;
		m.attr.uid = a->uid;
		m.attr.gid = a->gid;
		m.attr.atime = a->atime;
		m.attr.mtime = a->mtime;
		m.attr.ctime = a->ctime;
		m.attr.atimensec = a->atimensec;
		m.attr.mtimensec = a->mtimensec;
		m.attr.ctimensec = a->ctimensec;
	}
	bpf_loop(FSP_STEPS, fsp_vm_step, &m, 0);
	if (!m.done)
		return -5; /* EIO */
	*child_set = m.child_set;
	if (a) {
		a->mode = m.attr.mode;
		a->uid = m.attr.uid;
		a->gid = m.attr.gid;
		a->atime = m.attr.atime;
		a->mtime = m.attr.mtime;
		a->ctime = m.attr.ctime;
		a->atimensec = m.attr.atimensec;
		a->mtimensec = m.attr.mtimensec;
		a->ctimensec = m.attr.ctimensec;
	}
	return m.result;
}

#endif /* FSP_MACHINE_H */
