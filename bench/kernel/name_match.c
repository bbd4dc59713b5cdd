// SPDX-License-Identifier: GPL-2.0
/*
 * name_match OBJ N: in the kernel tier's VM, the verifier's processed
 * instructions of each program of name_match.bpf.o, and the time of N
 * lookups of missing names (each one reaches the lookup prefilter: negative
 * dentries of backed directories are looked up again) of 8, 32 and 128
 * bytes through a no_daemon fuse-bpf mount per set.  Prints
 *   INSNS <program> <processed insns>
 *   ROW <set> <name length> <ns per lookup>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#define LOWER "/tmp/nm-lower"
#define VIEW "/tmp/nm-view"

static const char *const sets[] = { "nm_none", "nm_copy", "nm_slice",
				    "nm_chunk" };
static char logs[4][1 << 18];

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int time_lookups(const char *set, int len, long n, double *ns)
{
	char opts[160], path[300];
	struct stat st;
	double t0;
	long i;
	int dirfd = open(LOWER, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dirfd < 0)
		return -1;
	snprintf(opts, sizeof(opts), "no_daemon,user_id=0,group_id=0,"
		 "rootmode=0040000,root_bpf=%s,root_dir=%d", set, dirfd);
	if (mount("nm", VIEW, "fuse", 0, opts)) {
		fprintf(stderr, "mount %s: %s\n", set, strerror(errno));
		close(dirfd);
		return -1;
	}
	close(dirfd);
	memset(path, 'x', sizeof(path));
	memcpy(path, VIEW "/", strlen(VIEW "/"));
	path[strlen(VIEW "/") + len] = 0;
	t0 = now_ns();
	for (i = 0; i < n; i++)
		if (stat(path, &st) == 0 || errno != ENOENT)
			break;
	*ns = (now_ns() - t0) / n;
	umount2(VIEW, 0);
	return i == n ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const int lens[] = { 8, 32, 128 };
	struct bpf_program *p;
	struct bpf_object *obj;
	long n = argc > 2 ? atol(argv[2]) : 20000;
	size_t s, l;
	int k = 0, rep;

	if (argc < 2) {
		fprintf(stderr, "usage: name_match OBJ [N]\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return 1;
	bpf_object__for_each_program(p, obj) {
		bpf_program__set_log_buf(p, logs[k], sizeof(logs[k]));
		bpf_program__set_log_level(p, getenv("NM_VERBOSE") ? 5 : 4);
		k++;
	}
	if (bpf_object__load(obj)) {
		for (k = 0; k < 4; k++)
			fprintf(stderr, "%s\n", logs[k]);
		return 1;
	}
	k = 0;
	bpf_object__for_each_program(p, obj) {
		const char *at = strstr(logs[k++], "processed ");

		printf("INSNS %s %ld\n", bpf_program__name(p),
		       at ? atol(at + strlen("processed ")) : -1L);
	}
	for (s = 0; s < 4; s++)
		if (!bpf_map__attach_struct_ops(
			    bpf_object__find_map_by_name(obj, sets[s])))
			return 1;
	mkdir(LOWER, 0755);
	mkdir(VIEW, 0755);
	/* sets interleaved, three rounds: the median is taken by the script */
	for (rep = 0; rep < 3; rep++)
		for (l = 0; l < 3; l++)
			for (s = 0; s < 4; s++) {
				double ns;

				if (time_lookups(sets[s], lens[l], n, &ns))
					return 1;
				printf("ROW %s %d %.0f\n", sets[s], lens[l], ns);
			}
	return 0;
}
