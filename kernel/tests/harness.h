/* SPDX-License-Identifier: GPL-2.0 */
/*
 * harness.h - what fuse_test's selftests share: the checks, the raw
 * /dev/fuse daemon and the mount of /tmp/ft-dst (fuse_test.c).
 */
#ifndef FUSE_TEST_HARNESS_H
#define FUSE_TEST_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fuse_bpf_abi.h"

#define SRC "/tmp/ft-src"
#define DST "/tmp/ft-dst"
#define OTHER "/tmp/ft-other"
#define BPF_OBJ "/tests/test.bpf.o"

/* ---- checks ------------------------------------------------------------ */

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "  %s:%d: CHECK(%s) failed "	\
				"(errno %d: %s)\n", __FILE__, __LINE__,	\
				#cond, errno, strerror(errno));		\
			return -1;					\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		long long _a = (long long)(a), _b = (long long)(b);	\
		if (_a != _b) {						\
			fprintf(stderr, "  %s:%d: %s == %lld, expected "\
				"%s == %lld (errno %d: %s)\n", __FILE__,	\
				__LINE__, #a, _a, #b, _b, errno,	\
				strerror(errno));			\
			return -1;					\
		}							\
	} while (0)

/* ---- shared state between the test and its daemon -------------------- */

struct shared {
	int fail;		/* daemon saw something wrong */
	int seen[64];		/* plain requests by opcode & 63 */
	int prefilter[64];	/* FUSE_PREFILTER requests */
	int postfilter[64];	/* FUSE_POSTFILTER requests */
	int unexpected;
	int last_error_in;
	int counter;
	int init_done;
	int devfd;
	int otherfd;
	char note[256];
};

extern struct shared *sh;

/* ---- the raw /dev/fuse daemon and the mount ---------------------------- */

struct req {
	struct fuse_in_header *h;
	void *body;
	size_t len;		/* body length without extensions */
	uint32_t op;		/* opcode without filter bits */
	int32_t error_in;	/* from a FUSE_ERROR_IN extension */
};

/* Returns 0 if handled (replied), -1 to let the default answer ENOSYS */
typedef int (*handler_t)(int fd, struct req *r);

int reply(int fd, uint64_t unique, int error, const void *a, size_t alen,
	  const void *b, size_t blen);
int reply_err(int fd, struct req *r, int error);
int mount_fuse(const char *bpf, bool root, handler_t h);
int unmount_fuse(void);
int write_file(const char *path, const char *data);
void *mmap_bss(struct bpf_object *o, size_t *size);
struct bpf_link *register_set(const char *path, const char *set,
			      struct bpf_object **o);

/* ---- tests in other files ---------------------------------------------- */

int hostile_matrix_test(void);

#endif
