/*
 * fsop: one file-system request of a policy self-test row, done as a given
 * caller; prints "ok" or the errno's name. For machines without Python
 * (the kernel tier's VM), it does what eval_mount_test.py's worker does.
 *
 *   fsop UID GID COMM OP TYPE PATH [TO]
 *   fsop --run UID GID COMMAND [ARGS...]
 *
 * COMM "-" keeps the process name. OP and TYPE are the tables' words
 * (tests/eval/README.md). With FSOP_SHOW set, an allowed stat, read or
 * listing also prints what it saw (mode uid gid; the first bytes read; the
 * sorted names), for comparing two mounts. --run runs COMMAND as the caller (uid, gid, no
 * supplementary groups), as setpriv --reuid --regid --clear-groups does
 * where busybox's setpriv cannot.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static int fail(void)
{
	return errno ? errno : EIO;
}

/* What an allowed request saw, with FSOP_SHOW (printed after "ok"). */
static char shown[8192];

static void show(const char *text)
{
	if (getenv("FSOP_SHOW"))
		snprintf(shown, sizeof shown, " %s", text);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(const char *p)
{
	DIR *d = opendir(p);
	char *names[256];
	size_t n = 0;
	struct dirent *e;

	if (!d)
		return fail();
	errno = 0;
	while ((e = readdir(d)) != NULL)
		if (n < 256)
			names[n++] = strdup(e->d_name);
	int err = errno;

	closedir(d);
	qsort(names, n, sizeof names[0], by_name);
	char list[4096] = "";

	for (size_t i = 0; i < n; i++) {
		strncat(list, names[i], sizeof list - strlen(list) - 2);
		strcat(list, "/");
		free(names[i]);
	}
	show(list);
	return err;
}

static int act(const char *op, const char *type, const char *p, const char *to)
{
	int dir = strcmp(type, "dir") == 0;
	int is_link = strcmp(type, "symlink") == 0;
	struct stat st;
	char buf[1];
	int fd;

	if (!strcmp(op, "lookup")) {
		fd = open(p, O_PATH | O_NOFOLLOW);
		if (fd < 0)
			return fail();
		close(fd);
		return 0;
	}
	if (!strcmp(op, "stat")) {
		char text[64];

		if (lstat(p, &st))
			return fail();
		snprintf(text, sizeof text, "%o %u %u", (unsigned)st.st_mode, (unsigned)st.st_uid,
			 (unsigned)st.st_gid);
		show(text);
		return 0;
	}
	if (!strcmp(op, "readdir") || (!strcmp(op, "read") && dir))
		return list_dir(p);
	if (!strcmp(op, "read") && is_link) {
		char target[4096];

		return readlink(p, target, sizeof target) < 0 ? fail() : 0;
	}
	if (!strcmp(op, "read")) {
		char data[65] = "";

		fd = open(p, O_RDONLY);
		if (fd < 0)
			return fail();
		ssize_t got = read(fd, data, sizeof data - 1);
		int err = got < 0 ? fail() : 0;

		close(fd);
		for (ssize_t i = 0; i < got; i++)
			if (data[i] == '\n' || data[i] == ' ' || data[i] == 0)
				data[i] = '_';
		show(data);
		return err;
	}
	if (!strcmp(op, "write")) {
		fd = open(p, O_WRONLY);
		if (fd < 0)
			return fail();
		close(fd);
		return 0;
	}
	if (!strcmp(op, "exec") && dir)
		return chdir(p) ? fail() : 0;
	if (!strcmp(op, "exec"))
		return access(p, X_OK) ? fail() : 0;
	if (!strcmp(op, "create") && dir)
		return mkdir(p, 0777) ? fail() : 0;
	if (!strcmp(op, "create") && is_link)
		return symlink("x", p) ? fail() : 0;
	if (!strcmp(op, "create")) {
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0777);
		if (fd < 0)
			return fail();
		close(fd);
		return 0;
	}
	if (!strcmp(op, "delete"))
		return (dir ? rmdir(p) : unlink(p)) ? fail() : 0;
	if (!strcmp(op, "rename"))
		return rename(p, to) ? fail() : 0;
	if (!strcmp(op, "link"))
		return link(p, to) ? fail() : 0;
	if (!strcmp(op, "chmod"))
		return chmod(p, 0777) ? fail() : 0;
	if (!strcmp(op, "chown")) {
		if (lstat(p, &st))
			return fail();
		return chown(p, st.st_uid, st.st_gid) ? fail() : 0;
	}
	if (!strcmp(op, "truncate"))
		return truncate(p, 0) ? fail() : 0;
	if (!strcmp(op, "utimes"))
		return utimensat(AT_FDCWD, p, NULL, 0) ? fail() : 0;
	if (!strcmp(op, "xattr_read")) {
		if (lgetxattr(p, "user.fspol", buf, sizeof buf) < 0 && errno != ENODATA)
			return fail();
		return 0;
	}
	if (!strcmp(op, "xattr_write"))
		return lsetxattr(p, "user.fspol", "1", 1, 0) ? fail() : 0;
	if (!strcmp(op, "lock")) {
		fd = open(p, O_RDONLY);
		if (fd < 0)
			return fail();
		int err = flock(fd, LOCK_EX) ? fail() : 0;

		close(fd);
		return err;
	}
	fprintf(stderr, "fsop: unknown op %s\n", op);
	exit(2);
}

static int become(const char *uid_text, const char *gid_text)
{
	uid_t uid = (uid_t)strtoul(uid_text, NULL, 10);
	gid_t gid = (gid_t)strtoul(gid_text, NULL, 10);

	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
		perror("fsop: cannot become the caller");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "--run")) {
		if (become(argv[2], argv[3]))
			return 2;
		execvp(argv[4], argv + 4);
		perror(argv[4]);
		return 127;
	}
	if (argc < 7 || argc > 8) {
		fprintf(stderr, "usage: fsop UID GID COMM OP TYPE PATH [TO]\n"
				"       fsop --run UID GID COMMAND [ARGS...]\n");
		return 2;
	}
	if (strcmp(argv[3], "-"))
		prctl(PR_SET_NAME, argv[3], 0, 0, 0);
	if (become(argv[1], argv[2]))
		return 2;
	int err = act(argv[4], argv[5], argv[6], argc == 8 ? argv[7] : "");
	const char *name = err ? strerrorname_np(err) : "ok";

	printf("%s%s\n", name ? name : "EUNKNOWN", err ? "" : shown);
	return 0;
}
