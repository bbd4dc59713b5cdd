// SPDX-License-Identifier: GPL-2.0
/*
 * register OBJECT...: load each fuse_ops object (as fsc compiles them),
 * register every program set in it, report, and remove them again.  The
 * kernel tier's test for generated code: the verifier of a fuse-bpf
 * kernel accepts the programs and the registry takes the sets.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#define MAX_SETS 4096

static int print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* MemAvailable in KiB, for what loading and registering costs */
static long mem_available(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int register_object(const char *path)
{
	long before = mem_available();
	static struct bpf_link *links[MAX_SETS];
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	unsigned int sets = 0, progs = 0, insns = 0, max = 0, lookup = 0, i;
	const char *max_name = "-";
	int err = 0;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
		return 1;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "%s: load failed: %s\n", path, strerror(-err));
		bpf_object__close(obj);
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		progs++;
		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			continue;
		insns += info.verified_insns;
		if (info.verified_insns > max) {
			max = info.verified_insns;
			max_name = bpf_program__name(prog);
		}
		if (strstr(bpf_program__name(prog), "_lookup_") &&
		    info.verified_insns > lookup)
			lookup = info.verified_insns;
	}
	bpf_object__for_each_map(map, obj) {
		if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS)
			continue;
		if (sets == MAX_SETS) {
			fprintf(stderr, "%s: more than %d sets\n", path, MAX_SETS);
			err = 1;
			break;
		}
		links[sets] = bpf_map__attach_struct_ops(map);
		if (!links[sets]) {
			fprintf(stderr, "%s: cannot register %s: %s\n", path,
				bpf_map__name(map), strerror(errno));
			err = 1;
			break;
		}
		sets++;
	}
	if (!err)
		printf("%s: %u program sets registered, %u programs, %u instructions processed by the verifier (at most %u, %s; lookup filters at most %u), %ld KiB of memory\n",
		       path, sets, progs, insns, max, max_name, lookup,
		       before - mem_available());
	for (i = 0; i < sets; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	return err;
}

int main(int argc, char **argv)
{
	/* Every program and map is a file descriptor: big policies have thousands */
	struct rlimit files = { 65536, 65536 };
	int i, failed = 0;

	setrlimit(RLIMIT_NOFILE, &files);
	libbpf_set_print(print);
	for (i = 1; i < argc; i++)
		failed |= register_object(argv[i]);
	return failed;
}
