// SPDX-License-Identifier: GPL-2.0
/*
 * fuse_test - fspol's selftests for its fuse-bpf kernel (kernel/patches).
 *
 * Runs inside the test VM as root.  Each test gets an empty backing
 * directory (/tmp/ft-src) and mount point (/tmp/ft-dst); a small raw
 * /dev/fuse daemon runs in a forked child with a per-test request handler.
 * The fuse_ops program sets come from test.bpf.o and count their calls in a
 * .bss struct the tests read back.
 *
 * Usage: fuse_test [-l] [TEST...]      (no TEST: all)
 * Exit: 0 all passed, 1 some failed, 77 the kernel has no fuse-bpf.
 */
#define _GNU_SOURCE
#include "harness.h"

/* ---- BPF program sets ----------------------------------------------- */

struct counters {
	uint64_t pre[64];
	uint64_t post[64];
	int64_t last_error_in;
	uint64_t slice_hits;
	uint64_t slice_bad;
};

static struct bpf_object *obj;
static struct counters *cnt;

/* libbpf maps .bss live only for skeletons: mmap it here (NULL if none) */
void *mmap_bss(struct bpf_object *o, size_t *size)
{
	struct bpf_map *map;
	void *p;

	bpf_object__for_each_map(map, o) {
		const char *n = bpf_map__name(map);

		if (strlen(n) <= 4 || strcmp(n + strlen(n) - 4, ".bss"))
			continue;
		*size = (bpf_map__value_size(map) + 4095) & ~4095UL;
		p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 bpf_map__fd(map), 0);
		return p == MAP_FAILED ? NULL : p;
	}
	return NULL;
}

/* Opens and loads @path and registers its set @set; NULL on failure */
struct bpf_link *register_set(const char *path, const char *set,
			      struct bpf_object **o)
{
	*o = bpf_object__open_file(path, NULL);
	if (!*o || bpf_object__load(*o))
		return NULL;
	return bpf_map__attach_struct_ops(bpf_object__find_map_by_name(*o, set));
}

static int load_bpf(void)
{
	static const char *const sets[] = {
		"pass_count", "test_trace", "trace_ops", "test_hidden",
		"test_error", "readdir_redact", "readdir_plus", "passthrough",
		"lookup_post", "uid_gate", "redirect", "hostile", "slices",
		"hostile_ids", "states",
	};
	struct bpf_map *map;
	size_t i, sz;

	obj = bpf_object__open_file(BPF_OBJ, NULL);
	if (!obj) {
		fprintf(stderr, "cannot open %s\n", BPF_OBJ);
		return -1;
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", BPF_OBJ);
		return -1;
	}
	/* Register every set once: a struct_ops map cannot be reused. */
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		map = bpf_object__find_map_by_name(obj, sets[i]);
		if (!map || !bpf_map__attach_struct_ops(map)) {
			fprintf(stderr, "cannot register %s: %s\n", sets[i],
				strerror(errno));
			return -1;
		}
	}
	cnt = mmap_bss(obj, &sz);
	if (!cnt) {
		fprintf(stderr, "no .bss map\n");
		return -1;
	}
	return 0;
}

/* ---- shared state between the test and its daemon -------------------- */

struct shared *sh;

static void dfail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sh->note, sizeof(sh->note), fmt, ap);
	va_end(ap);
	fprintf(stderr, "  daemon: %s\n", sh->note);
	sh->fail = 1;
}

/* ---- the raw /dev/fuse daemon ------------------------------------------ */

int reply(int fd, uint64_t unique, int error, const void *a, size_t alen,
		 const void *b, size_t blen)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh) + alen + blen,
		.error = error,
		.unique = unique,
	};
	char buf[8192];

	memcpy(buf, &oh, sizeof(oh));
	if (alen)
		memcpy(buf + sizeof(oh), a, alen);
	if (blen)
		memcpy(buf + sizeof(oh) + alen, b, blen);
	return write(fd, buf, oh.len) == (ssize_t)oh.len ? 0 : -1;
}

int reply_err(int fd, struct req *r, int error)
{
	return reply(fd, r->h->unique, error, NULL, 0, NULL, 0);
}

/* A reply with fuse_bpf_entry_out records must use the ioctl */
static int reply_ioctl(int fd, uint64_t unique, const void *a, size_t alen,
		       const void *b, size_t blen)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh) + alen + blen,
		.unique = unique,
	};
	char buf[4096];
	size_t n = oh.len;

	memcpy(buf, &oh, sizeof(oh));
	memcpy(buf + sizeof(oh), a, alen);
	memcpy(buf + sizeof(oh) + alen, b, blen);
	return ioctl(fd, FUSE_DEV_IOC_BPF_RESPONSE(n), buf) == (int)n ? 0 : -1;
}

static void fill_attr(struct fuse_attr *a, uint64_t ino, uint32_t mode,
		      uint64_t size)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = mode;
	a->size = size;
	a->nlink = 1;
	a->blksize = 4096;
}

static int handle_init(int fd, struct req *r, uint32_t flags)
{
	struct fuse_init_in *in = r->body;
	struct fuse_init_out out = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = 4096,
		.flags = flags,
		.max_write = 4096,
		.time_gran = 1,
		.max_pages = 12,
	};

	if (in->major != FUSE_KERNEL_VERSION)
		dfail("INIT major %u", in->major);
	if (reply(fd, r->h->unique, 0, &out, sizeof(out), NULL, 0))
		return -1;
	/* The kernel has processed the reply when write() returns */
	__atomic_store_n(&sh->init_done, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static uint32_t init_flags;

static void daemon_loop(int fd, handler_t h)
{
	static char buf[FUSE_MIN_READ_BUFFER * 2];

	for (;;) {
		struct req r = {};
		ssize_t n = read(fd, buf, sizeof(buf));
		uint32_t raw;

		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			break;
		r.h = (struct fuse_in_header *)buf;
		if (n < (ssize_t)sizeof(*r.h) || r.h->len != n ||
		    r.h->total_extlen * 8 > n - sizeof(*r.h)) {
			dfail("request of %zd bytes says %u (extensions %u)", n,
			      n < (ssize_t)sizeof(*r.h) ? 0 : r.h->len,
			      n < (ssize_t)sizeof(*r.h) ? 0 : r.h->total_extlen);
			break;
		}
		r.body = buf + sizeof(*r.h);
		r.len = r.h->len - sizeof(*r.h) - r.h->total_extlen * 8;
		raw = r.h->opcode;
		r.op = raw & FUSE_OPCODE_FILTER;
		if (r.h->total_extlen) {
			char *p = buf + r.h->len - r.h->total_extlen * 8;
			struct fuse_ext_header *eh = (void *)p;

			if (eh->type == FUSE_ERROR_IN)
				r.error_in = *(int32_t *)(eh + 1);
		}
		if (raw & FUSE_PREFILTER)
			sh->prefilter[r.op & 63]++;
		else if (raw & FUSE_POSTFILTER)
			sh->postfilter[r.op & 63]++;
		else
			sh->seen[r.op & 63]++;

		switch (raw) {
		case FUSE_INIT:
			handle_init(fd, &r, init_flags);
			continue;
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
		case FUSE_INTERRUPT:
			continue;
		case FUSE_DESTROY:
			reply_err(fd, &r, 0);
			continue;
		}
		if (h && !h(fd, &r))
			continue;
		/* Default answers */
		switch (raw) {
		case FUSE_FLUSH:
		case FUSE_RELEASE:
		case FUSE_RELEASEDIR:
			reply_err(fd, &r, 0);
			break;
		default:
			sh->unexpected++;
			fprintf(stderr, "  daemon: unexpected opcode %u (0x%x) nodeid %llu\n",
				r.op, raw, (unsigned long long)r.h->nodeid);
			reply_err(fd, &r, -ENOSYS);
		}
	}
}

/* ---- per-test environment --------------------------------------------- */

static pid_t daemon_pid;
static int devfd = -1;
static const char *mount_extra = "";	/* more mount options */

static int run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void reset_dirs(void)
{
	run("rm -rf " SRC " " DST " " OTHER " && mkdir -p " SRC " " DST " "
	    OTHER);
}

/*
 * Mount DST.  @bpf: root_bpf name or NULL; @root: use SRC as root_dir;
 * @h: daemon handler (a daemon always runs, to answer INIT).
 */
int mount_fuse(const char *bpf, bool root, handler_t h)
{
	char opts[256];
	int dirfd = -1, n;

	devfd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (devfd < 0)
		return -1;
	sh->devfd = devfd;
	n = snprintf(opts, sizeof(opts),
		     "fd=%d,user_id=0,group_id=0,rootmode=0040000%s", devfd,
		     mount_extra);
	if (bpf)
		n += snprintf(opts + n, sizeof(opts) - n, ",root_bpf=%s", bpf);
	if (root) {
		dirfd = open(SRC, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			return -1;
		snprintf(opts + n, sizeof(opts) - n, ",root_dir=%d", dirfd);
	}
	if (mount("ABC", DST, "fuse", 0, opts)) {
		int e = errno;

		if (dirfd >= 0)
			close(dirfd);
		close(devfd);
		devfd = -1;
		errno = e;
		return -1;
	}
	if (dirfd >= 0)
		close(dirfd);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		daemon_loop(devfd, h);
		_exit(0);
	}
	/* Wait for INIT: some decisions (READDIRPLUS) depend on it */
	for (n = 0; n < 500 && !__atomic_load_n(&sh->init_done,
						__ATOMIC_SEQ_CST); n++)
		usleep(10000);
	return 0;
}

int unmount_fuse(void)
{
	int status = 0, i;

	if (umount2(DST, 0) && umount2(DST, MNT_DETACH))
		fprintf(stderr, "  umount: %s\n", strerror(errno));
	if (daemon_pid > 0) {
		for (i = 0; i < 200; i++) {
			if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid)
				break;
			usleep(10000);
		}
		if (i == 200) {
			kill(daemon_pid, SIGKILL);
			waitpid(daemon_pid, &status, 0);
		}
		daemon_pid = 0;
	}
	if (devfd >= 0)
		close(devfd);
	devfd = -1;
	return sh->fail ? -1 : 0;
}

int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, data, strlen(data));
	close(fd);
	return n == (ssize_t)strlen(data) ? 0 : -1;
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

static int count_dir(const char *path, const char *must_have)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0, found = !must_have;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		n++;
		if (must_have && !strcmp(e->d_name, must_have))
			found = 1;
	}
	closedir(d);
	return found ? n : -2;
}

/* ---- 1: plain FUSE, no fuse-bpf --------------------------------------- */

static int basic_handler(int fd, struct req *r)
{
	struct fuse_entry_out eo = {};
	struct fuse_attr_out ao = {};
	struct fuse_open_out oo = {};

	switch (r->h->opcode) {
	case FUSE_LOOKUP:
		if (strcmp(r->body, "hello"))
			return reply_err(fd, r, -ENOENT);
		eo.nodeid = 2;
		eo.entry_valid = 1;
		eo.attr_valid = 1;
		fill_attr(&eo.attr, 2, S_IFREG | 0644, 5);
		return reply(fd, r->h->unique, 0, &eo, sizeof(eo), NULL, 0);
	case FUSE_GETATTR:
		fill_attr(&ao.attr, r->h->nodeid,
			  r->h->nodeid == 1 ? S_IFDIR | 0755 : S_IFREG | 0644,
			  5);
		ao.attr_valid = 1;
		return reply(fd, r->h->unique, 0, &ao, sizeof(ao), NULL, 0);
	case FUSE_OPEN:
		oo.fh = 7;
		return reply(fd, r->h->unique, 0, &oo, sizeof(oo), NULL, 0);
	case FUSE_READ: {
		struct fuse_read_in *in = r->body;

		if (in->fh != 7)
			dfail("READ fh %llu", (unsigned long long)in->fh);
		return reply(fd, r->h->unique, 0, "hello", 5, NULL, 0);
	}
	}
	return -1;
}

static int basic_test(void)
{
	char buf[64];
	int i;

	CHECK(!mount_fuse(NULL, false, basic_handler));
	CHECK_EQ(read_file(DST "/hello", buf, sizeof(buf)), 5);
	CHECK(!strcmp(buf, "hello"));
	for (i = 0; i < 100 && !sh->seen[FUSE_RELEASE]; i++)
		usleep(10000);
	CHECK(sh->seen[FUSE_LOOKUP] >= 1);
	CHECK_EQ(sh->seen[FUSE_OPEN], 1);
	CHECK(sh->seen[FUSE_READ] >= 1);
	CHECK_EQ(sh->seen[FUSE_RELEASE], 1);
	return unmount_fuse();
}

/* ---- 2: a backed file read through the mount ---------------------------- */

static int bpf_test_real(void)
{
	char buf[64];

	CHECK(!write_file(SRC "/real", "real data"));
	CHECK(!mount_fuse("test_trace", true, NULL));
	CHECK_EQ(read_file(DST "/real", buf, sizeof(buf)), 9);
	CHECK(!strcmp(buf, "real data"));
	CHECK(cnt->pre[FUSE_LOOKUP] >= 1);
	CHECK(cnt->post[FUSE_LOOKUP] >= 1);
	CHECK(cnt->pre[FUSE_OPEN] >= 1);
	CHECK(cnt->pre[FUSE_READ] >= 1);
	CHECK_EQ(sh->unexpected, 0);
	return unmount_fuse();
}

/* ---- 3: open with a daemon postfilter, first read from the daemon ------- */

static int partial_handler(int fd, struct req *r)
{
	switch (r->h->opcode) {
	case FUSE_OPEN | FUSE_POSTFILTER: {
		struct fuse_open_out *oo;

		if (r->h->nodeid != 6)
			dfail("open postfilter nodeid %llu",
			      (unsigned long long)r->h->nodeid);
		if (r->len != sizeof(struct fuse_open_in) +
			      sizeof(struct fuse_open_out))
			dfail("open postfilter len %zu", r->len);
		if (r->error_in)
			dfail("open postfilter error_in %d", r->error_in);
		oo = (void *)((char *)r->body + sizeof(struct fuse_open_in));
		oo->fh = 1;
		return reply(fd, r->h->unique, 0, oo, sizeof(*oo), NULL, 0);
	}
	case FUSE_READ: {
		struct fuse_read_in *in = r->body;

		if (in->fh != 1 || in->offset != 0 || r->h->nodeid != 6)
			dfail("READ fh %llu off %llu",
			      (unsigned long long)in->fh,
			      (unsigned long long)in->offset);
		return reply(fd, r->h->unique, 0, "DDDDDDDD", 8, NULL, 0);
	}
	}
	return -1;
}

static int bpf_test_partial(void)
{
	char buf[16] = {};
	int fd;

	CHECK(!write_file(SRC "/partial", "BBBBBBBB"));
	CHECK(!mount_fuse("test_trace", true, partial_handler));
	fd = open(DST "/partial", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, buf, 4), 4);
	CHECK(!memcmp(buf, "DDDD", 4));
	CHECK_EQ(read(fd, buf, 4), 4);
	CHECK(!memcmp(buf, "BBBB", 4));
	close(fd);
	CHECK_EQ(sh->postfilter[FUSE_OPEN], 1);
	CHECK_EQ(sh->seen[FUSE_READ], 1);
	return unmount_fuse();
}

/* ---- 4: chmod/chown land on the backing file ------------------------------ */

static int bpf_test_attrs(void)
{
	struct stat st;

	CHECK(!write_file(SRC "/file", "x"));
	CHECK(!mount_fuse("pass_count", true, NULL));
	CHECK(!chmod(DST "/file", 0600));
	CHECK(!stat(SRC "/file", &st));
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK(!chown(DST "/file", 1, 2));
	CHECK(!stat(SRC "/file", &st));
	CHECK_EQ(st.st_uid, 1);
	CHECK_EQ(st.st_gid, 2);
	CHECK(!stat(DST "/file", &st));
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK_EQ(st.st_uid, 1);
	CHECK(cnt->pre[FUSE_SETATTR] >= 2);
	return unmount_fuse();
}

/* ---- 5: opendir postfilter sets fh; daemon adds an entry ---------------- */

static int readdir_handler(int fd, struct req *r)
{
	if (r->h->opcode == (FUSE_READDIR | FUSE_POSTFILTER)) {
		struct fuse_read_in *in = r->body;
		struct fuse_read_out *ro = (void *)(in + 1);
		char *dirents = (char *)(ro + 1);
		size_t n = r->len - sizeof(*in) - sizeof(*ro);
		char out[4096];
		struct fuse_dirent *d;

		if (in->fh != 2)
			dfail("readdir fh %llu", (unsigned long long)in->fh);
		memcpy(out, dirents, n);
		if (n) {
			d = (void *)(out + n);
			d->ino = 100;
			d->off = ro->offset;
			d->namelen = 4;
			d->type = DT_REG;
			memcpy(d->name, "fake", 4);
			n += FUSE_DIRENT_SIZE(d);
		}
		return reply(fd, r->h->unique, 0, ro, sizeof(*ro), out, n);
	}
	return -1;
}

static int bpf_test_readdir(void)
{
	CHECK(!write_file(SRC "/file1", "1"));
	CHECK(!write_file(SRC "/file2", "2"));
	CHECK(!mount_fuse("test_trace", true, readdir_handler));
	CHECK_EQ(count_dir(DST, "fake"), 5);
	CHECK_EQ(count_dir(DST, "file2"), 5);
	CHECK(cnt->post[FUSE_OPENDIR] >= 1);
	CHECK(sh->postfilter[FUSE_READDIR] >= 1);
	return unmount_fuse();
}

/* ---- 6: classic FUSE create (reference, no fuse-bpf) ---------------------- */

static int creat_handler(int fd, struct req *r)
{
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} co = {};
	struct fuse_attr_out ao = {};

	switch (r->h->opcode) {
	case FUSE_LOOKUP:
		return reply_err(fd, r, -ENOENT);
	case FUSE_CREATE:
		co.e.nodeid = 2;
		fill_attr(&co.e.attr, 2, S_IFREG | 0644, 0);
		co.o.fh = 3;
		return reply(fd, r->h->unique, 0, &co, sizeof(co), NULL, 0);
	case FUSE_GETATTR:
		fill_attr(&ao.attr, r->h->nodeid,
			  r->h->nodeid == 1 ? S_IFDIR | 0755 : S_IFREG | 0644,
			  0);
		return reply(fd, r->h->unique, 0, &ao, sizeof(ao), NULL, 0);
	}
	return -1;
}

static int bpf_test_creat(void)
{
	int fd;

	CHECK(!mount_fuse(NULL, false, creat_handler));
	fd = open(DST "/newfile", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(sh->seen[FUSE_CREATE], 1);
	return unmount_fuse();
}

/* ---- 7: hidden entries; create + fallocate + write in a subdirectory ---- */

static int bpf_test_hidden_entries(void)
{
	struct stat st;
	int fd;

	CHECK(!mkdir(SRC "/show", 0755));
	CHECK(!write_file(SRC "/hide", "secret"));
	CHECK(!mount_fuse("test_hidden", true, NULL));
	fd = open(DST "/show/file", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0);
	CHECK(!fallocate(fd, 0, 0, 4096));
	CHECK_EQ(write(fd, "x", 1), 1);
	close(fd);
	CHECK(!stat(SRC "/show/file", &st));
	CHECK_EQ(st.st_size, 4096);
	CHECK(cnt->pre[FUSE_CREATE] >= 1);
	CHECK(stat(DST "/hide", &st) && errno == ENOENT);
	return unmount_fuse();
}

/* ---- 8: mkdir/rmdir ----------------------------------------------------- */

static int bpf_test_dir(void)
{
	struct stat st;

	CHECK(!mount_fuse("pass_count", true, NULL));
	CHECK(!mkdir(DST "/dir", 0755));
	CHECK(!stat(SRC "/dir", &st) && S_ISDIR(st.st_mode));
	CHECK(!stat(DST "/dir", &st) && S_ISDIR(st.st_mode));
	CHECK(cnt->pre[FUSE_MKDIR] >= 1);
	CHECK(cnt->post[FUSE_MKDIR] >= 1);
	CHECK(!rmdir(DST "/dir"));
	CHECK(stat(SRC "/dir", &st) && errno == ENOENT);
	CHECK(stat(DST "/dir", &st) && errno == ENOENT);
	CHECK(cnt->pre[FUSE_RMDIR] >= 1);
	return unmount_fuse();
}

/* ---- 9/10: unlink after / before close ------------------------------------ */

static int bpf_test_file_early_close(void)
{
	struct stat st;
	int fd;

	CHECK(!mount_fuse("pass_count", true, NULL));
	fd = open(DST "/file", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "abc", 3), 3);
	close(fd);
	CHECK(!stat(SRC "/file", &st));
	CHECK_EQ(st.st_size, 3);
	CHECK(!unlink(DST "/file"));
	CHECK(stat(SRC "/file", &st) && errno == ENOENT);
	CHECK(cnt->pre[FUSE_UNLINK] >= 1);
	return unmount_fuse();
}

static int bpf_test_file_late_close(void)
{
	struct stat st;
	char buf[8] = {};
	int fd;

	CHECK(!mount_fuse("pass_count", true, NULL));
	fd = open(DST "/file", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0);
	CHECK(!unlink(DST "/file"));
	CHECK(stat(SRC "/file", &st) && errno == ENOENT);
	CHECK_EQ(write(fd, "abc", 3), 3);
	CHECK_EQ(pread(fd, buf, 3, 0), 3);
	CHECK(!strcmp(buf, "abc"));
	close(fd);
	return unmount_fuse();
}

/* ---- 11: mknod (fifo) ---------------------------------------------------- */

static int bpf_test_mknod(void)
{
	struct stat st;

	CHECK(!mount_fuse("pass_count", true, NULL));
	CHECK(!mkfifo(DST "/fifo", 0666));
	CHECK(!stat(SRC "/fifo", &st) && S_ISFIFO(st.st_mode));
	CHECK(!stat(DST "/fifo", &st) && S_ISFIFO(st.st_mode));
	CHECK(cnt->pre[FUSE_MKNOD] >= 1);
	CHECK(!unlink(DST "/fifo"));
	CHECK(stat(SRC "/fifo", &st) && errno == ENOENT);
	return unmount_fuse();
}

/* ---- 12: many files; root lookups go through a daemon prefilter --------- */

static int largedir_handler(int fd, struct req *r)
{
	if (r->h->opcode == (FUSE_LOOKUP | FUSE_PREFILTER)) {
		if (r->h->nodeid != 1)
			dfail("prefilter nodeid %llu",
			      (unsigned long long)r->h->nodeid);
		return reply(fd, r->h->unique, 0, r->body,
			     strlen(r->body) + 1, NULL, 0);
	}
	return -1;
}

#define LARGEDIR_FILES 1000

static int bpf_test_largedir(void)
{
	char path[64];
	int i, fd;

	CHECK(!mount_fuse("trace_ops", true, largedir_handler));
	CHECK(!mkdir(DST "/show", 0755));
	for (i = 0; i < LARGEDIR_FILES; i++) {
		snprintf(path, sizeof(path), DST "/show/%d", i);
		fd = open(path, O_CREAT | O_WRONLY, 0644);
		CHECK(fd >= 0);
		close(fd);
	}
	CHECK_EQ(count_dir(DST "/show", "999"), LARGEDIR_FILES + 2);
	CHECK_EQ(count_dir(SRC "/show", "999"), LARGEDIR_FILES + 2);
	CHECK(sh->prefilter[FUSE_LOOKUP] >= 1);
	CHECK(cnt->pre[FUSE_READDIR] >= 1);
	return unmount_fuse();
}

/* ---- 13/14: hard links and symlinks ------------------------------------- */

static int bpf_test_link(void)
{
	struct stat a, b;

	CHECK(!write_file(SRC "/file", "data"));
	CHECK(!mount_fuse("pass_count", true, NULL));
	CHECK(!link(DST "/file", DST "/link"));
	CHECK(!stat(SRC "/file", &a));
	CHECK(!stat(SRC "/link", &b));
	CHECK_EQ(a.st_ino, b.st_ino);
	CHECK_EQ(a.st_nlink, 2);
	CHECK(cnt->pre[FUSE_LINK] >= 1);
	CHECK(!unlink(DST "/link"));
	CHECK(!unlink(DST "/file"));
	CHECK(stat(SRC "/file", &a) && errno == ENOENT);
	CHECK(stat(SRC "/link", &a) && errno == ENOENT);
	return unmount_fuse();
}

static int bpf_test_symlink(void)
{
	char buf[64];
	struct stat st;

	CHECK(!write_file(SRC "/target", "through the link"));
	CHECK(!mount_fuse("pass_count", true, NULL));
	CHECK(!symlink("target", DST "/sym"));
	CHECK(!lstat(SRC "/sym", &st) && S_ISLNK(st.st_mode));
	CHECK(cnt->pre[FUSE_SYMLINK] >= 1);
	CHECK_EQ(readlink(DST "/sym", buf, sizeof(buf)), 6);
	CHECK(!memcmp(buf, "target", 6));
	CHECK(cnt->pre[FUSE_READLINK] >= 1);
	CHECK_EQ(read_file(DST "/sym", buf, sizeof(buf)), 16);
	CHECK(!strcmp(buf, "through the link"));
	CHECK(!unlink(DST "/sym"));
	return unmount_fuse();
}

/* ---- 15: xattrs ------------------------------------------------------------ */

static int bpf_test_xattr(void)
{
	static const char name[] = "trusted.fspol";
	char buf[64];

	CHECK(!write_file(SRC "/file", "x"));
	CHECK(!mount_fuse("pass_count", true, NULL));
	CHECK(getxattr(DST "/file", name, buf, sizeof(buf)) < 0 &&
	      errno == ENODATA);
	CHECK_EQ(listxattr(DST "/file", buf, sizeof(buf)), 0);
	CHECK(!setxattr(DST "/file", name, "value", 5, 0));
	CHECK_EQ(listxattr(DST "/file", buf, sizeof(buf)), sizeof(name));
	CHECK(!strcmp(buf, name));
	CHECK_EQ(getxattr(DST "/file", name, buf, sizeof(buf)), 5);
	CHECK(!memcmp(buf, "value", 5));
	CHECK_EQ(getxattr(SRC "/file", name, buf, sizeof(buf)), 5);
	CHECK_EQ(getxattr(DST "/file", name, NULL, 0), 5);
	CHECK(!removexattr(DST "/file", name));
	CHECK(getxattr(DST "/file", name, buf, sizeof(buf)) < 0 &&
	      errno == ENODATA);
	CHECK(cnt->pre[FUSE_GETXATTR] >= 3);
	CHECK(cnt->pre[FUSE_SETXATTR] >= 1);
	CHECK(cnt->pre[FUSE_LISTXATTR] >= 2);
	CHECK(cnt->pre[FUSE_REMOVEXATTR] >= 1);
	return unmount_fuse();
}

/* ---- 16: the daemon redacts a listing, asking to be called again ------ */

static int redact_handler(int fd, struct req *r)
{
	if (r->h->opcode == (FUSE_READDIR | FUSE_POSTFILTER)) {
		struct fuse_read_in *in = r->body;
		struct fuse_read_out *ro = (void *)(in + 1);
		char *dirents = (char *)(ro + 1);
		size_t n = r->len - sizeof(*in) - sizeof(*ro), off = 0, o = 0;
		char out[4096];

		/* First call: nothing yet, call again */
		if (sh->counter++ == 0) {
			ro->again = 1;
			ro->offset = in->offset;
			return reply(fd, r->h->unique, 0, ro, sizeof(*ro),
				     NULL, 0);
		}
		while (off < n) {
			struct fuse_dirent *d = (void *)(dirents + off);
			size_t len = FUSE_DIRENT_SIZE(d);
			char last = d->name[d->namelen - 1];

			/* keep "." ".." and the even-numbered files */
			if (last == '.' || (last - '0') % 2 == 0) {
				memcpy(out + o, d, len);
				o += len;
			}
			off += len;
		}
		ro->again = 0;
		return reply(fd, r->h->unique, 0, ro, sizeof(*ro), out, o);
	}
	return -1;
}

static int bpf_test_redact_readdir(void)
{
	char path[64];
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), SRC "/f%d", i);
		CHECK(!write_file(path, "x"));
	}
	CHECK(!mount_fuse("readdir_redact", true, redact_handler));
	CHECK_EQ(count_dir(DST, "f8"), 7);
	CHECK_EQ(count_dir(DST, "f1"), -2);
	CHECK(sh->postfilter[FUSE_READDIR] >= 2);
	return unmount_fuse();
}

/* ---- 17-19: the daemon hands out a backing file via the ioctl ----------- */

static int set_backing_handler_common(int fd, struct req *r, bool use_ioctl)
{
	struct fuse_entry_out eo = {};
	struct fuse_bpf_entry_out be[2] = {};
	int bfd;

	if (r->h->opcode != FUSE_LOOKUP)
		return -1;
	if (!strcmp(r->body, "file"))
		bfd = open(SRC "/file", O_RDONLY | O_CLOEXEC);
	else if (!strcmp(r->body, "dir"))
		bfd = open(SRC "/dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else
		return reply_err(fd, r, -ENOENT);
	if (bfd < 0) {
		dfail("open backing: %s", strerror(errno));
		return reply_err(fd, r, -EIO);
	}
	be[0].entry_type = FUSE_ENTRY_BPF;
	strcpy(be[0].name, "trace_ops");
	be[1].entry_type = FUSE_ENTRY_BACKING;
	be[1].fd = bfd;
	if (use_ioctl) {
		if (reply_ioctl(fd, r->h->unique, &eo, sizeof(eo), be,
				sizeof(be)))
			dfail("ioctl reply: %s", strerror(errno));
	} else {
		if (!reply(fd, r->h->unique, 0, &eo, sizeof(eo), be,
			   sizeof(be)))
			dfail("write of a reply with entries succeeded");
		else
			sh->counter = errno;
	}
	close(bfd);
	return 0;
}

static int set_backing_handler(int fd, struct req *r)
{
	return set_backing_handler_common(fd, r, true);
}

static int set_backing_no_ioctl_handler(int fd, struct req *r)
{
	return set_backing_handler_common(fd, r, false);
}

static int bpf_test_set_backing(void)
{
	char buf[64];

	CHECK(!write_file(SRC "/file", "backing file"));
	CHECK(!mount_fuse(NULL, false, set_backing_handler));
	CHECK_EQ(read_file(DST "/file", buf, sizeof(buf)), 12);
	CHECK(!strcmp(buf, "backing file"));
	CHECK(cnt->pre[FUSE_READ] >= 1);
	CHECK_EQ(sh->seen[FUSE_OPEN], 0);
	CHECK_EQ(sh->seen[FUSE_READ], 0);
	return unmount_fuse();
}

static int bpf_test_set_backing_no_ioctl(void)
{
	char buf[64];

	CHECK(!write_file(SRC "/file", "backing file"));
	CHECK(!mount_fuse(NULL, false, set_backing_no_ioctl_handler));
	CHECK(read_file(DST "/file", buf, sizeof(buf)) < 0);
	unmount_fuse();
	CHECK_EQ(sh->counter, EINVAL);
	return sh->fail ? -1 : 0;
}

static int bpf_test_set_backing_folder(void)
{
	CHECK(!mkdir(SRC "/dir", 0755));
	CHECK(!write_file(SRC "/dir/inner", "x"));
	CHECK(!mount_fuse(NULL, false, set_backing_handler));
	CHECK_EQ(count_dir(DST "/dir", "inner"), 3);
	CHECK(cnt->pre[FUSE_READDIR] >= 1);
	CHECK_EQ(sh->seen[FUSE_OPENDIR], 0);
	return unmount_fuse();
}

/* ---- 20: BPF and daemon lookup postfilters re-point a node ---------------- */

static int remove_backing_handler(int fd, struct req *r)
{
	if (r->h->opcode == (FUSE_LOOKUP | FUSE_POSTFILTER)) {
		const char *name = r->body;
		size_t nl = strlen(name) + 1;
		struct fuse_entry_out eo;
		struct fuse_bpf_entry_out be[2] = {};
		struct fuse_bpf_entry_out *in_be;
		int bfd;

		memcpy(&eo, name + nl, sizeof(eo));
		if (r->len != nl + sizeof(eo) + sizeof(*in_be)) {
			dfail("lookup postfilter len %zu", r->len);
			return reply_err(fd, r, -EIO);
		}
		in_be = (void *)(name + nl + sizeof(eo));
		if (in_be->entry_type != FUSE_ENTRY_REMOVE_BPF)
			dfail("entry from BPF: type %u", in_be->entry_type);
		bfd = open(OTHER "/file", O_RDONLY | O_CLOEXEC);
		be[0].entry_type = FUSE_ENTRY_REMOVE_BPF;
		be[1].entry_type = FUSE_ENTRY_BACKING;
		be[1].fd = bfd;
		if (reply_ioctl(fd, r->h->unique, &eo, sizeof(eo), be,
				sizeof(be)))
			dfail("ioctl reply: %s", strerror(errno));
		close(bfd);
		return 0;
	}
	return -1;
}

static int bpf_test_remove_backing(void)
{
	char buf[64];

	CHECK(!write_file(SRC "/file", "from src"));
	CHECK(!write_file(OTHER "/file", "from other"));
	CHECK(!mount_fuse("passthrough", true, remove_backing_handler));
	CHECK_EQ(read_file(DST "/file", buf, sizeof(buf)), 10);
	CHECK(!strcmp(buf, "from other"));
	CHECK_EQ(sh->postfilter[FUSE_LOOKUP], 1);
	CHECK_EQ(cnt->pre[FUSE_READ], 0);
	CHECK_EQ(cnt->pre[FUSE_OPEN], 0);
	return unmount_fuse();
}

/* ---- 21/22: renames ---------------------------------------------------- */

static int bpf_test_dir_rename(void)
{
	struct stat st;

	CHECK(!mount_fuse("pass_count", true, NULL));
	CHECK(!mkdir(DST "/dir", 0755));
	CHECK(!rename(DST "/dir", DST "/dir2"));
	CHECK(stat(SRC "/dir", &st) && errno == ENOENT);
	CHECK(!stat(SRC "/dir2", &st) && S_ISDIR(st.st_mode));
	CHECK(!stat(DST "/dir2", &st) && S_ISDIR(st.st_mode));
	CHECK(cnt->pre[FUSE_RENAME] >= 1);
	return unmount_fuse();
}

static int bpf_test_file_rename(void)
{
	char buf[16];

	CHECK(!mkdir(SRC "/dir", 0755));
	CHECK(!write_file(SRC "/dir/file", "moved"));
	CHECK(!mount_fuse("pass_count", true, NULL));
	CHECK(!rename(DST "/dir/file", DST "/dir/file2"));
	CHECK_EQ(read_file(SRC "/dir/file2", buf, sizeof(buf)), 5);
	CHECK_EQ(read_file(DST "/dir/file2", buf, sizeof(buf)), 5);
	CHECK(read_file(DST "/dir/file", buf, sizeof(buf)) < 0 &&
	      errno == ENOENT);
	CHECK(!renameat2(AT_FDCWD, DST "/dir/file2", AT_FDCWD,
			 DST "/file3", RENAME_NOREPLACE));
	CHECK_EQ(read_file(SRC "/file3", buf, sizeof(buf)), 5);
	CHECK(cnt->pre[FUSE_RENAME2] >= 1);
	return unmount_fuse();
}

/* ---- 23/24: error codes rewritten by BPF and by the daemon ------------- */

static int bpf_test_alter_errcode_bpf(void)
{
	CHECK(!mkdir(SRC "/dir", 0755));
	CHECK(!mount_fuse("test_error", true, NULL));
	CHECK(mkdir(DST "/dir", 0755) && errno == EPERM);
	CHECK_EQ(cnt->last_error_in, -EEXIST);
	return unmount_fuse();
}

static int errcode_handler(int fd, struct req *r)
{
	if (r->h->opcode == (FUSE_LOOKUP | FUSE_POSTFILTER)) {
		sh->last_error_in = r->error_in;
		return reply_err(fd, r, -ENOMEM);
	}
	return -1;
}

static int bpf_test_alter_errcode_userspace(void)
{
	CHECK(!mount_fuse("test_error", true, errcode_handler));
	CHECK(unlink(DST "/doesnotexist") && errno == ENOMEM);
	CHECK_EQ(sh->last_error_in, -ENOENT);
	return unmount_fuse();
}

/* ---- 25: shared writable mmap of a backed file ---------------------------- */

static int mmap_test(void)
{
	char buf[16];
	char *p;
	int fd;

	CHECK(!mount_fuse(NULL, true, NULL));
	fd = open(DST "/file", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0);
	CHECK(!fallocate(fd, 0, 0, 4096));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	memcpy(p, "mapped", 6);
	CHECK(!msync(p, 4096, MS_SYNC));
	munmap(p, 4096);
	close(fd);
	fd = open(SRC "/file", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, buf, 6), 6);
	close(fd);
	CHECK(!memcmp(buf, "mapped", 6));
	return unmount_fuse();
}

/* ---- 26: directory permissions are the backing directory's ------------- */

static int readdir_perms_test(void)
{
	pid_t pid;
	int status;

	CHECK(!mkdir(SRC "/dir", 0111));
	CHECK(!mount_fuse(NULL, true, NULL));
	pid = fork();
	if (pid == 0) {
		struct __user_cap_header_struct h = {
			.version = _LINUX_CAPABILITY_VERSION_3,
		};
		struct __user_cap_data_struct d[2] = {};
		DIR *dir;

		if (syscall(SYS_capset, &h, d))
			_exit(2);
		dir = opendir(SRC "/dir");
		if (dir || errno != EACCES)
			_exit(3);
		dir = opendir(DST "/dir");
		if (dir || errno != EACCES)
			_exit(4);
		_exit(0);
	}
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	return unmount_fuse();
}

/* ---- 27/28: statfs and lseek ------------------------------------------- */

static int bpf_test_statfs(void)
{
	struct statfs st, sst;

	CHECK(!mount_fuse("pass_count", true, NULL));
	CHECK(!statfs(DST, &st));
	CHECK(!statfs(SRC, &sst));
	CHECK_EQ(st.f_type, 0x65735546);
	CHECK_EQ(st.f_blocks, sst.f_blocks);
	CHECK(cnt->pre[FUSE_STATFS] >= 1);
	CHECK(cnt->post[FUSE_STATFS] >= 1);
	return unmount_fuse();
}

static int bpf_test_lseek(void)
{
	int fd;

	CHECK(!write_file(SRC "/file", "0123"));
	CHECK(!mount_fuse("pass_count", true, NULL));
	fd = open(DST "/file", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(lseek(fd, 3, SEEK_SET), 3);
	CHECK_EQ(lseek(fd, 5, SEEK_END), 9);
	CHECK_EQ(lseek(fd, 1, SEEK_CUR), 10);
	CHECK_EQ(lseek(fd, 1, SEEK_DATA), 1);
	close(fd);
	CHECK(cnt->pre[FUSE_LSEEK] >= 4);
	CHECK(cnt->post[FUSE_LSEEK] >= 4);
	return unmount_fuse();
}

/* ---- 29: READDIRPLUS from the daemon keeps the backing of a node ------- */

static int rdplus_handler(int fd, struct req *r)
{
	struct fuse_open_out oo = {};

	switch (r->h->opcode) {
	case FUSE_LOOKUP: {
		struct fuse_entry_out eo = {};
		struct fuse_bpf_entry_out be = {
			.entry_type = FUSE_ENTRY_BACKING,
		};
		int bfd;

		if (strcmp(r->body, "file"))
			return reply_err(fd, r, -ENOENT);
		bfd = open(SRC "/file", O_RDONLY | O_CLOEXEC);
		be.fd = bfd;
		eo.nodeid = 2;
		eo.entry_valid = 10;
		eo.attr_valid = 10;
		if (reply_ioctl(fd, r->h->unique, &eo, sizeof(eo), &be,
				sizeof(be)))
			dfail("ioctl reply: %s", strerror(errno));
		close(bfd);
		return 0;
	}
	case FUSE_OPENDIR:
		oo.fh = 1;
		return reply(fd, r->h->unique, 0, &oo, sizeof(oo), NULL, 0);
	case FUSE_READDIRPLUS: {
		struct fuse_read_in *in = r->body;
		char out[512] = {};
		struct fuse_direntplus *dp = (void *)out;

		if (in->offset)
			return reply(fd, r->h->unique, 0, NULL, 0, NULL, 0);
		dp->entry_out.nodeid = 2;
		dp->entry_out.entry_valid = 10;
		dp->entry_out.attr_valid = 10;
		fill_attr(&dp->entry_out.attr, 2, S_IFREG | 0644, 3);
		dp->dirent.ino = 2;
		dp->dirent.off = 1;
		dp->dirent.namelen = 4;
		dp->dirent.type = DT_REG;
		memcpy(dp->dirent.name, "file", 4);
		return reply(fd, r->h->unique, 0, out,
			     FUSE_DIRENTPLUS_SIZE(dp), NULL, 0);
	}
	case FUSE_GETATTR: {
		struct fuse_attr_out ao = {};

		fill_attr(&ao.attr, r->h->nodeid, S_IFDIR | 0755, 0);
		return reply(fd, r->h->unique, 0, &ao, sizeof(ao), NULL, 0);
	}
	}
	return -1;
}

static int bpf_test_readdirplus_not_overriding_backing(void)
{
	char buf[64];
	struct stat st;

	CHECK(!write_file(SRC "/file", "backing data"));
	init_flags = FUSE_DO_READDIRPLUS;
	CHECK(!mount_fuse(NULL, false, rdplus_handler));
	CHECK(!stat(DST "/file", &st));
	CHECK_EQ(st.st_size, 12);
	CHECK_EQ(count_dir(DST, "file"), 1);
	CHECK(sh->seen[FUSE_READDIRPLUS] >= 1);
	CHECK_EQ(read_file(DST "/file", buf, sizeof(buf)), 12);
	CHECK(!strcmp(buf, "backing data"));
	CHECK_EQ(sh->seen[FUSE_OPEN], 0);
	CHECK_EQ(sh->seen[FUSE_READ], 0);
	return unmount_fuse();
}

/* ---- 30: no READDIRPLUS for directories the daemon cannot name ---------- */

static int no_rdplus_handler(int fd, struct req *r)
{
	switch (r->h->opcode) {
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
		return reply(fd, r->h->unique, 0, NULL, 0, NULL, 0);
	}
	return -1;
}

static int bpf_test_no_readdirplus_without_nodeid(void)
{
	CHECK(!mkdir(SRC "/dir", 0755));
	init_flags = FUSE_DO_READDIRPLUS;
	CHECK(!mount_fuse("readdir_plus", true, no_rdplus_handler));
	/* the root has node id 1: READDIRPLUS */
	CHECK_EQ(count_dir(DST, NULL), 0);
	CHECK_EQ(sh->seen[FUSE_READDIRPLUS], 1);
	/* "dir" has a kernel-made node id: READDIR */
	CHECK_EQ(count_dir(DST "/dir", NULL), 0);
	CHECK_EQ(sh->seen[FUSE_READDIR], 1);
	CHECK(cnt->pre[FUSE_READDIR] >= 2);
	return unmount_fuse();
}

/* ---- 31: revalidation answers with a backing file ------------------------- */

static int revalidate_handler(int fd, struct req *r)
{
	if (r->h->opcode == FUSE_LOOKUP) {
		struct fuse_entry_out eo = {};	/* entry_valid 0 */
		struct fuse_bpf_entry_out be = {
			.entry_type = FUSE_ENTRY_BACKING,
		};
		int bfd;

		if (strcmp(r->body, "file"))
			return reply_err(fd, r, -ENOENT);
		bfd = open(SRC "/file", O_RDONLY | O_CLOEXEC);
		be.fd = bfd;
		if (reply_ioctl(fd, r->h->unique, &eo, sizeof(eo), &be,
				sizeof(be)))
			dfail("ioctl reply: %s", strerror(errno));
		close(bfd);
		return 0;
	}
	return -1;
}

static int bpf_test_revalidate_handle_backing_fd(void)
{
	char buf[64];
	struct stat st;

	CHECK(!write_file(SRC "/file", "backing data"));
	CHECK(!mount_fuse(NULL, false, revalidate_handler));
	CHECK(!stat(DST "/file", &st));
	CHECK_EQ(read_file(DST "/file", buf, sizeof(buf)), 12);
	CHECK(!strcmp(buf, "backing data"));
	CHECK(sh->seen[FUSE_LOOKUP] >= 2);
	CHECK_EQ(sh->seen[FUSE_READ], 0);
	return unmount_fuse();
}

/* ---- 32: daemon lookup postfilters -------------------------------------- */

static int lookup_post_handler(int fd, struct req *r)
{
	if (r->h->opcode == (FUSE_LOOKUP | FUSE_POSTFILTER)) {
		const char *name = r->body;
		struct fuse_entry_out *eo = (void *)(name + strlen(name) + 1);

		if (!strcmp(name, "file1"))
			return reply_err(fd, r, -ENOENT);
		if (!strcmp(name, "file2")) {
			if (r->error_in)
				dfail("file2 error_in %d", r->error_in);
			return reply(fd, r->h->unique, 0, eo, sizeof(*eo),
				     NULL, 0);
		}
		if (!strcmp(name, "file3")) {
			sh->last_error_in = r->error_in;
			return reply_err(fd, r, -ENOENT);
		}
	}
	return -1;
}

static int bpf_test_lookup_postfilter(void)
{
	char buf[16];

	CHECK(!write_file(SRC "/file1", "1"));
	CHECK(!write_file(SRC "/file2", "2"));
	CHECK(!mount_fuse("lookup_post", true, lookup_post_handler));
	CHECK(read_file(DST "/file1", buf, sizeof(buf)) < 0 &&
	      errno == ENOENT);
	CHECK_EQ(read_file(DST "/file2", buf, sizeof(buf)), 1);
	CHECK(read_file(DST "/file3", buf, sizeof(buf)) < 0 &&
	      errno == ENOENT);
	CHECK_EQ(sh->last_error_in, -ENOENT);
	return unmount_fuse();
}

/* ---- fspol additions --------------------------------------------------- */

/* A second set with a registered name is refused; unknown names too. */
static int registry_test(void)
{
	struct bpf_object *o2;
	struct bpf_map *m;
	struct bpf_link *l;
	char opts[128];
	int fd;

	o2 = bpf_object__open_file(BPF_OBJ, NULL);
	CHECK(o2);
	CHECK(!bpf_object__load(o2));
	m = bpf_object__find_map_by_name(o2, "pass_count");
	CHECK(m);
	l = bpf_map__attach_struct_ops(m);
	CHECK(!l && errno == EEXIST);
	bpf_object__close(o2);

	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	snprintf(opts, sizeof(opts), "fd=%d,user_id=0,group_id=0,"
		 "rootmode=0040000,root_bpf=nosuchset", fd);
	CHECK(mount("ABC", DST, "fuse", 0, opts) && errno == EINVAL);
	close(fd);
	return 0;
}

/* A set unregistered while a mount uses it stays alive for that mount */
static int unregister_test(void)
{
	struct bpf_object *o2;
	struct bpf_link *l;
	char opts[160], buf[16];
	int dirfd;

	CHECK(!write_file(SRC "/f1", "one"));
	CHECK(!write_file(SRC "/f2", "two"));
	l = register_set(BPF_OBJ, "temp_set", &o2);
	CHECK(l);
	dirfd = open(SRC, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dirfd >= 0);
	snprintf(opts, sizeof(opts), "no_daemon,user_id=0,group_id=0,"
		 "rootmode=0040000,root_bpf=temp_set,root_dir=%d", dirfd);
	CHECK(!mount("ABC", DST, "fuse", 0, opts));
	CHECK_EQ(read_file(DST "/f1", buf, sizeof(buf)), 3);
	CHECK(!bpf_link__destroy(l));		/* unregister */
	CHECK_EQ(read_file(DST "/f2", buf, sizeof(buf)), 3);
	CHECK(!strcmp(buf, "two"));
	CHECK(mount("ABC", OTHER, "fuse", 0, opts) && errno == EINVAL);
	close(dirfd);
	CHECK(!umount2(DST, 0));
	bpf_object__close(o2);
	/* the name is free again */
	l = register_set(BPF_OBJ, "temp_set", &o2);
	CHECK(l);
	bpf_link__destroy(l);
	bpf_object__close(o2);
	return 0;
}

/* No daemon at all: everything from the backing directory. */
static int no_daemon_test(void)
{
	char opts[128], buf[16];
	struct stat st;
	int dirfd;

	CHECK(!write_file(SRC "/file", "nodaemon"));
	dirfd = open(SRC, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dirfd >= 0);
	snprintf(opts, sizeof(opts), "no_daemon,user_id=0,group_id=0,"
		 "rootmode=0040000,root_bpf=pass_count,root_dir=%d", dirfd);
	CHECK(!mount("ABC", DST, "fuse", 0, opts));
	close(dirfd);
	CHECK_EQ(read_file(DST "/file", buf, sizeof(buf)), 8);
	CHECK(!mkdir(DST "/d", 0700));
	CHECK(!stat(SRC "/d", &st));
	CHECK_EQ(count_dir(DST, "d"), 4);
	CHECK(!umount2(DST, 0));
	return 0;
}

/* bpf_get_current_uid_gid in fuse_ops programs (fspol extension) */
static int uid_gid_test(void)
{
	struct stat st;
	pid_t pid;
	int status;

	CHECK(!write_file(SRC "/file", "x"));
	mount_extra = ",allow_other";
	CHECK(!mount_fuse("uid_gate", true, NULL));
	CHECK(!stat(DST "/file", &st));
	pid = fork();
	if (pid == 0) {
		if (setuid(1000))
			_exit(2);
		if (!stat(DST "/other", &st) || errno != EPERM) {
			fprintf(stderr, "  uid 1000: stat: %s\n",
				strerror(errno));
			_exit(3);
		}
		_exit(0);
	}
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	return unmount_fuse();
}

/*
 * A lookup prefilter rewrites the name through a writable dynptr; the
 * postfilters, BPF's and the daemon's, see the name looked up (fspol
 * deviation 20).
 */
static int redirect_handler(int fd, struct req *r)
{
	if (r->h->opcode == (FUSE_LOOKUP | FUSE_POSTFILTER)) {
		const char *name = r->body;
		size_t len = strnlen(name, r->len);
		struct fuse_entry_out *eo = (void *)(name + len + 1);

		if (len == r->len || strcmp(name, "alias"))
			dfail("lookup postfilter name %.*s", (int)len, name);
		return reply(fd, r->h->unique, 0, eo, sizeof(*eo), NULL, 0);
	}
	return -1;
}

static int name_redirect_test(void)
{
	char buf[32];

	CHECK(!write_file(SRC "/real", "the real file"));
	CHECK(!mount_fuse("redirect", true, redirect_handler));
	CHECK_EQ(read_file(DST "/alias", buf, sizeof(buf)), 13);
	CHECK(!strcmp(buf, "the real file"));
	CHECK(read_file(DST "/other", buf, sizeof(buf)) < 0 &&
	      errno == ENOENT);
	CHECK(cnt->pre[FUSE_LOOKUP] >= 2);
	CHECK(cnt->post[FUSE_LOOKUP] >= 1);
	CHECK(sh->postfilter[FUSE_LOOKUP] >= 1);
	return unmount_fuse();
}

/*
 * Kfunc calls a verified program can make with sizes no buffer takes (an
 * oversized writable name in a lookup prefilter: the RFC's kernel then ran
 * strnlen on NULL and panicked; writable views of immutable and output
 * buffers in a postfilter that then asks the daemon): the operations end
 * with a result, the daemon gets the name intact, and a name rewritten
 * without its NUL is refused (EINVAL) instead of read past its end.
 */
static int hostile_handler(int fd, struct req *r)
{
	if (r->h->opcode == (FUSE_LOOKUP | FUSE_POSTFILTER)) {
		const char *name = r->body;
		size_t len = strnlen(name, r->len);
		struct fuse_entry_out *eo = (void *)(name + len + 1);

		if (len == r->len ||
		    (strcmp(name, "file") && strcmp(name, "missing")))
			dfail("lookup postfilter name %.*s", (int)len, name);
		return reply(fd, r->h->unique, 0, eo, sizeof(*eo), NULL, 0);
	}
	return -1;
}

static int kfunc_abuse_test(void)
{
	char buf[64];
	struct stat st;

	CHECK(!write_file(SRC "/file", "x"));
	CHECK(!mount_fuse("hostile", true, hostile_handler));
	CHECK(!stat(DST "/file", &st));
	CHECK_EQ(read_file(DST "/file", buf, sizeof(buf)), 1);
	CHECK(stat(DST "/missing", &st) < 0 && errno == ENOENT);
	CHECK(getxattr(DST "/file", "trusted.fspol", buf, sizeof(buf)) < 0 &&
	      errno == EINVAL);
	CHECK(sh->postfilter[FUSE_LOOKUP] >= 1);
	CHECK(cnt->pre[FUSE_LOOKUP] >= 2);
	CHECK(cnt->pre[FUSE_GETXATTR] >= 1);
	return unmount_fuse();
}

/*
 * A lookup postfilter answers node ids and modes that do not belong to the
 * child (hostile_ids): every operation ends with a result or an errno, a
 * walk of the tree ends, and the kernel stays up.
 */
static int hostile_ids_test(void)
{
	static const struct {
		const char *name;
		bool dir;
		int error;	/* stat's */
	} cases[] = {
		{ "root", false, EIO },	/* the root's id for a child */
		{ "zero", true, 0 },	/* id 0: the kernel's own id */
		{ "self", true, EIO },	/* the directory's own id */
		{ "type", false, 0 },	/* a file said to be a directory */
		{ "long", false, 0 },	/* huge timeouts and generation */
		{ "size", false, EIO },	/* past LLONG_MAX: refused as from a daemon */
	};
	char path[64], buf[16];
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), SRC "/%s", cases[i].name);
		CHECK(cases[i].dir ? !mkdir(path, 0755) : !write_file(path, "x"));
	}
	CHECK(!mount_fuse("hostile_ids", true, NULL));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd;

		snprintf(path, sizeof(path), DST "/%s", cases[i].name);
		errno = 0;
		CHECK_EQ(stat(path, &st) ? errno : 0, cases[i].error);
		if (!cases[i].error)	/* of its backing file's type */
			CHECK_EQ(S_ISDIR(st.st_mode), cases[i].dir);
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			if (read(fd, buf, sizeof(buf)) < 0)
				CHECK(errno > 0 && errno < 134);
			close(fd);
		}
		snprintf(path, sizeof(path), DST "/%s/x", cases[i].name);
		if (stat(path, &st) < 0)
			CHECK(errno > 0 && errno < 134);
	}
	/* a walk of the tree ends, and the root is still the root */
	CHECK(run("timeout 20 find " DST " > /dev/null 2>&1; [ $? != 124 ]") == 0);
	CHECK(!stat(DST, &st) && S_ISDIR(st.st_mode));
	return unmount_fuse();
}

/* bpf_dynptr_slice(_rdwr) (6.3) in a program written as for the RFC */
static int slice_test(void)
{
	struct stat st;

	CHECK(!write_file(SRC "/hid", "x"));
	CHECK(!write_file(SRC "/Slice", "capital"));
	CHECK(!write_file(SRC "/other", "o"));
	CHECK(!mount_fuse("slices", true, NULL));
	CHECK(stat(DST "/hid", &st) < 0 && errno == ENOENT);
	CHECK(!stat(DST "/slice", &st));
	CHECK_EQ(st.st_size, 7);
	CHECK(!stat(DST "/other", &st));
	CHECK_EQ(cnt->slice_hits, 1);
	CHECK_EQ(cnt->slice_bad, 0);
	return unmount_fuse();
}

/* The verifier refuses direct writes to struct fuse_buffer */
static char verifier_log[65536];
static size_t verifier_log_len;

static int log_to_buffer(enum libbpf_print_level level, const char *fmt,
			 va_list ap)
{
	int n = vsnprintf(verifier_log + verifier_log_len,
			  sizeof(verifier_log) - verifier_log_len, fmt, ap);

	if (n > 0 && verifier_log_len + n < sizeof(verifier_log))
		verifier_log_len += n;
	return 0;
}

/* Load only @prog of bad.bpf.o (and its set); 0 if the verifier took it */
static int load_one_bad(const char *prog)
{
	struct bpf_object *bad;
	struct bpf_program *p;
	struct bpf_map *m;
	char set[64];
	libbpf_print_fn_t old;
	int err;

	bad = bpf_object__open_file("/tests/bad.bpf.o", NULL);
	if (!bad)
		return -1;
	snprintf(set, sizeof(set), "%s_ops", prog);
	bpf_object__for_each_program(p, bad)
		bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), prog));
	bpf_object__for_each_map(m, bad)
		if (bpf_map__type(m) == BPF_MAP_TYPE_STRUCT_OPS)
			bpf_map__set_autocreate(m, !strcmp(bpf_map__name(m), set));
	verifier_log_len = 0;
	verifier_log[0] = 0;
	old = libbpf_set_print(log_to_buffer);
	err = bpf_object__load(bad);
	libbpf_set_print(old);
	bpf_object__close(bad);
	return err;
}

/*
 * The verifier refuses direct writes to struct fuse_buffer, reads of its
 * data pointer, writes through a read-only slice, a slice used without its
 * NULL check and a slice of a size it cannot know.
 */
static int verifier_test(void)
{
	static const char *const cases[][2] = {
		{ "bad_write", "direct access to fuse_buffer is disallowed" },
		{ "bad_data", "fuse_buffer data is read through the dynptr kfuncs" },
		{ "bad_ro_slice", "cannot write into rdonly_mem" },
		{ "bad_null_slice", "invalid mem access 'rdonly_mem_or_null'" },
		{ "bad_slice_size", "is not a const" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!load_one_bad(cases[i][0]) ||
		    !strstr(verifier_log, cases[i][1])) {
			fprintf(stderr, "  %s: expected \"%s\" in:\n%s\n",
				cases[i][0], cases[i][1], verifier_log);
			return -1;
		}
	}
	return 0;
}

/* copy_file_range, fsync, fdatasync, flush on backed files */
static int file_ops_test(void)
{
	char buf[32] = {};
	loff_t in = 0, out = 0;
	int a, b;

	CHECK(!write_file(SRC "/a", "copy me"));
	CHECK(!mount_fuse("pass_count", true, NULL));
	a = open(DST "/a", O_RDONLY);
	CHECK(a >= 0);
	b = open(DST "/b", O_CREAT | O_RDWR, 0644);
	CHECK(b >= 0);
	CHECK_EQ(copy_file_range(a, &in, b, &out, 7, 0), 7);
	CHECK(!fsync(b));
	CHECK(!fdatasync(b));
	close(a);
	close(b);
	CHECK_EQ(read_file(SRC "/b", buf, sizeof(buf)), 7);
	CHECK(!strcmp(buf, "copy me"));
	CHECK(cnt->pre[FUSE_FSYNC] >= 2);
	CHECK(cnt->pre[FUSE_FLUSH] >= 2);
	CHECK(cnt->pre[FUSE_RELEASE] >= 2);
	CHECK(cnt->pre[FUSE_WRITE] == 0);
	return unmount_fuse();
}

/* Node ids of kernel-created inodes are not 0 (fspol deviation) */
static int nodeid_test(void)
{
	struct stat a, b;

	CHECK(!mkdir(SRC "/dir", 0755));
	CHECK(!mount_fuse("pass_count", true, NULL));
	CHECK(!stat(DST "/dir", &a));
	CHECK(!stat(SRC "/dir", &b));
	/* inode numbers come from the backing inode */
	CHECK_EQ(a.st_ino, b.st_ino);
	CHECK(!access("/sys/fs/fuse/features/fuse_bpf", R_OK));
	CHECK(!access("/sys/fs/fuse/features/bpf_uid_gid", R_OK));
	CHECK(!access("/sys/fs/fuse/features/bpf_comm", R_OK));
	CHECK(!access("/sys/fs/fuse/features/bpf_assign", R_OK));
	CHECK(!access("/sys/fs/fuse/features/bpf_view_name", R_OK));
	return unmount_fuse();
}

/* ---- driver ---------------------------------------------------------------- */

/* ---- assign_test: a mount's program sets reassigned in use ------------- */

/* The record of @name (a name in @parent; "" and 0: the root) in a listing. */
static const struct fuse_bpf_node *find_node(const char *buf, uint32_t count,
					     uint64_t parent, const char *name)
{
	size_t at = 0;
	uint32_t i;

	for (i = 0; i < count; i++) {
		const struct fuse_bpf_node *n = (const void *)(buf + at);

		if (n->parent == parent && n->namelen == strlen(name) &&
		    !memcmp(n + 1, name, n->namelen))
			return n;
		at += (sizeof(*n) + n->namelen + 7) & ~7UL;
	}
	return NULL;
}

static int list_nodes(char *buf, uint32_t size, uint32_t *count)
{
	struct fuse_bpf_nodes arg = { .buf = (uintptr_t)buf, .size = size };

	if (ioctl(devfd, FUSE_DEV_IOC_BPF_NODES, &arg))
		return -errno;
	*count = arg.count;
	return 0;
}

static int assign(const struct fuse_bpf_assign *v, uint32_t count,
		  uint32_t *done)
{
	struct fuse_bpf_assigns arg = { .buf = (uintptr_t)v, .count = count };

	if (ioctl(devfd, FUSE_DEV_IOC_BPF_ASSIGN, &arg))
		return -errno;
	*done = arg.done;
	return 0;
}

static int assign_test(void)
{
	static char buf[1 << 16];
	struct fuse_bpf_nodes small = { .buf = (uintptr_t)buf, .size = 8 };
	const struct fuse_bpf_node *root, *hide, *d, *f;
	struct fuse_bpf_assign v[3] = {};
	uint64_t hide_id, d_id, f_id;
	uint32_t count = 0, done = 0;
	struct stat st;
	char data[8] = {};
	int fd;

	CHECK(!write_file(SRC "/hide", "secret"));
	CHECK(!mkdir(SRC "/d", 0755));
	CHECK(!write_file(SRC "/d/f", "data"));
	CHECK(!mount_fuse("pass_count", true, NULL));
	CHECK(!stat(DST "/hide", &st));
	fd = open(DST "/d/f", O_RDONLY);
	CHECK(fd >= 0);

	/* Too small a buffer: nothing written, the bytes needed said */
	CHECK(ioctl(devfd, FUSE_DEV_IOC_BPF_NODES, &small) && errno == ENOSPC);
	CHECK(small.count == 0 && small.needed >= 4 * sizeof(*root));
	CHECK(!list_nodes(buf, sizeof(buf), &count));
	CHECK(count >= 4);
	root = find_node(buf, count, 0, "");
	CHECK(root && root->nodeid == 1 && !strcmp(root->set, "pass_count"));
	CHECK(root->flags == FUSE_BPF_NODE_BACKED && S_ISDIR(root->mode));
	hide = find_node(buf, count, 1, "hide");
	CHECK(hide && !strcmp(hide->set, "pass_count") && S_ISREG(hide->mode));
	d = find_node(buf, count, 1, "d");
	CHECK(d && S_ISDIR(d->mode));
	f = find_node(buf, count, d->nodeid, "f");
	CHECK(f && (f->flags & FUSE_BPF_NODE_BACKED));
	hide_id = hide->nodeid;
	d_id = d->nodeid;
	f_id = f->nodeid;

	/* All or nothing: an unregistered set changes no node */
	v[0].nodeid = 1;
	strcpy(v[0].set, "test_hidden");
	v[1].nodeid = f_id;
	strcpy(v[1].set, "no_such_set");
	CHECK_EQ(assign(v, 2, &done), -ENOENT);
	v[1] = v[0];
	CHECK_EQ(assign(v, 2, &done), -EINVAL);	/* a node twice */
	CHECK(!list_nodes(buf, sizeof(buf), &count));
	root = find_node(buf, count, 0, "");
	CHECK(root && !strcmp(root->set, "pass_count"));

	/* The root runs test_hidden, "hide" goes bad, d/f drops its set */
	memset(&v[1], 0, sizeof(v[1]));
	v[1].nodeid = hide_id;
	v[1].action = FUSE_BPF_ASSIGN_BAD;
	v[2].nodeid = f_id;
	v[2].action = FUSE_BPF_ASSIGN_REMOVE;
	CHECK(!assign(v, 3, &done));
	CHECK_EQ(done, 3);
	CHECK(stat(DST "/hide", &st) && errno == ENOENT);
	CHECK(!stat(DST "/d", &st));
	CHECK_EQ(pread(fd, data, sizeof(data) - 1, 0), 4);
	CHECK(!strcmp(data, "data"));
	close(fd);
	CHECK(!list_nodes(buf, sizeof(buf), &count));
	root = find_node(buf, count, 0, "");
	CHECK(root && !strcmp(root->set, "test_hidden"));
	f = find_node(buf, count, d_id, "f");
	CHECK(f && f->set[0] == 0);
	CHECK(!find_node(buf, count, 1, "hide"));
	return unmount_fuse();
}

/*
 * ---- node_state_test: a state per node (fspol deviation 21) ------------
 * The "states" set's lookup postfilter gives "d" state 7, the daemon's
 * lookup answer gives "u" state 9, children inherit their directory's
 * state, and open refuses with the state as the errno. The kernel lists
 * each node's state and a reassignment changes it.
 */
static int states_handler(int fd, struct req *r)
{
	struct fuse_entry_out eo = {};
	struct fuse_bpf_entry_out be[2] = {};
	int bfd;

	if (r->h->opcode != FUSE_LOOKUP || strcmp(r->body, "u"))
		return -1;
	bfd = open(SRC "/u", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0) {
		dfail("open backing: %s", strerror(errno));
		return reply_err(fd, r, -EIO);
	}
	be[0].entry_type = FUSE_ENTRY_BPF;
	be[0].state = 9;
	strcpy(be[0].name, "states");
	be[1].entry_type = FUSE_ENTRY_BACKING;
	be[1].fd = bfd;
	if (reply_ioctl(fd, r->h->unique, &eo, sizeof(eo), be, sizeof(be)))
		dfail("ioctl reply: %s", strerror(errno));
	close(bfd);
	return 0;
}

static int node_state_test(void)
{
	static char buf[1 << 16];
	const struct fuse_bpf_node *d;
	struct fuse_bpf_assign v = {};
	uint32_t count = 0, done = 0;
	char data[8];

	CHECK(!write_file(SRC "/file", "x"));
	CHECK(!mkdir(SRC "/d", 0755));
	CHECK(!write_file(SRC "/d/f", "x"));
	CHECK(!write_file(SRC "/d/g", "x"));
	CHECK(!mkdir(SRC "/u", 0755));
	CHECK(!write_file(SRC "/u/f", "x"));
	CHECK(!mount_fuse("states", true, states_handler));
	CHECK_EQ(read_file(DST "/file", data, sizeof(data)), 1);
	CHECK(read_file(DST "/d/f", data, sizeof(data)) < 0 && errno == 7);
	CHECK(read_file(DST "/u/f", data, sizeof(data)) < 0 && errno == 9);
	CHECK(!list_nodes(buf, sizeof(buf), &count));
	d = find_node(buf, count, 1, "d");
	CHECK(d && d->state == 7 && !strcmp(d->set, "states"));
	v.nodeid = d->nodeid;
	v.action = FUSE_BPF_ASSIGN_SET;
	v.state = 3;
	strcpy(v.set, "states");
	CHECK(!assign(&v, 1, &done) && done == 1);
	CHECK(read_file(DST "/d/g", data, sizeof(data)) < 0 && errno == 3);
	return unmount_fuse();
}

struct test {
	const char *name;
	int (*fn)(void);
};

#define T(x) { #x, x }
static const struct test tests[] = {
	T(basic_test),
	T(bpf_test_real),
	T(bpf_test_partial),
	T(bpf_test_attrs),
	T(bpf_test_readdir),
	T(bpf_test_creat),
	T(bpf_test_hidden_entries),
	T(bpf_test_dir),
	T(bpf_test_file_early_close),
	T(bpf_test_file_late_close),
	T(bpf_test_mknod),
	T(bpf_test_largedir),
	T(bpf_test_link),
	T(bpf_test_symlink),
	T(bpf_test_xattr),
	T(bpf_test_redact_readdir),
	T(bpf_test_set_backing),
	T(bpf_test_set_backing_no_ioctl),
	T(bpf_test_set_backing_folder),
	T(bpf_test_remove_backing),
	T(bpf_test_dir_rename),
	T(bpf_test_file_rename),
	T(bpf_test_alter_errcode_bpf),
	T(bpf_test_alter_errcode_userspace),
	T(mmap_test),
	T(readdir_perms_test),
	T(bpf_test_statfs),
	T(bpf_test_lseek),
	T(bpf_test_readdirplus_not_overriding_backing),
	T(bpf_test_no_readdirplus_without_nodeid),
	T(bpf_test_revalidate_handle_backing_fd),
	T(bpf_test_lookup_postfilter),
	T(registry_test),
	T(unregister_test),
	T(no_daemon_test),
	T(uid_gid_test),
	T(name_redirect_test),
	T(verifier_test),
	T(file_ops_test),
	T(nodeid_test),
	T(kfunc_abuse_test),
	T(hostile_matrix_test),
	T(slice_test),
	T(hostile_ids_test),
	T(assign_test),
	T(node_state_test),
};

static bool selected(int argc, char **argv, const char *name)
{
	int i;

	if (argc <= 1)
		return true;
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	size_t i;
	int failed = 0, passed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "-l")) {
		for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	if (access("/sys/fs/fuse/features/fuse_bpf", R_OK)) {
		printf("SKIP: this kernel has no fuse-bpf\n");
		return 77;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || load_bpf())
		return 1;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		struct timespec t0, t1;
		int rc;

		if (!selected(argc, argv, tests[i].name))
			continue;
		reset_dirs();
		memset(sh, 0, sizeof(*sh));
		memset(cnt, 0, sizeof(*cnt));
		init_flags = 0;
		mount_extra = "";
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = tests[i].fn();
		if (daemon_pid > 0 || devfd >= 0)
			unmount_fuse();
		umount2(DST, MNT_DETACH);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("%s %s (%.2fs)\n", rc ? "FAIL" : "PASS", tests[i].name,
		       (t1.tv_sec - t0.tv_sec) +
		       (t1.tv_nsec - t0.tv_nsec) / 1e9);
		if (rc)
			failed++;
		else
			passed++;
	}
	printf("fuse_test: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
