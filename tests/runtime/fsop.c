/*
 * fsop: one file-system request of a policy self-test row, done as a given
 * caller; prints "ok" or the errno's name. For machines without Python
 * (the kernel tier's VM), it does what eval_mount_test.py's worker does.
 *
 *   fsop UID GID COMM OP TYPE PATH [TO]
 *   fsop --run UID GID COMMAND [ARGS...]
 *
 * COMM "-" keeps the process name. OP and TYPE are the tables' words
 * (tests/eval/README.md). --run runs COMMAND as the caller (uid, gid, no
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

static int list_dir(const char *p)
{
	DIR *d = opendir(p);

	if (!d)
		return fail();
	errno = 0;
	while (readdir(d))
		;
	int err = errno;

	closedir(d);
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
	if (!strcmp(op, "stat"))
		return lstat(p, &st) ? fail() : 0;
	if (!strcmp(op, "readdir") || (!strcmp(op, "read") && dir))
		return list_dir(p);
	if (!strcmp(op, "read") && is_link) {
		char target[4096];

		return readlink(p, target, sizeof target) < 0 ? fail() : 0;
	}
	if (!strcmp(op, "read")) {
		fd = open(p, O_RDONLY);
		if (fd < 0)
			return fail();
		int err = read(fd, buf, 1) < 0 ? fail() : 0;

		close(fd);
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

	printf("%s\n", name ? name : "EUNKNOWN");
	return 0;
}
