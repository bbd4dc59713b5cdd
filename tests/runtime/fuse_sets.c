/*
 * fuse_sets: the fuse_ops program sets registered in the running kernel,
 * one name per line (fuse-bpf kernels; the kernel tier's lifecycle test
 * counts them). A struct_ops map whose value is in use is a registered set;
 * its name is the `name` field of the struct fuse_ops inside the value
 * (the member "data" of the kernel's value type, found through BTF).
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUSE_OPS_NAME_OFFSET 512 /* offsetof(struct fuse_ops, name) */
#define STRUCT_OPS_STATE_INUSE 1

int main(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	__u32 id = 0;
	int listed = 0;

	if (!vmlinux) {
		fprintf(stderr, "fuse_sets: no kernel BTF: %s\n", strerror(errno));
		return 1;
	}
	while (bpf_map_get_next_id(id, &id) == 0) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPF_MAP_TYPE_STRUCT_OPS) {
			close(fd);
			continue;
		}
		const struct btf_type *t = btf__type_by_id(vmlinux, info.btf_vmlinux_value_type_id);
		const char *tname = t ? btf__name_by_offset(vmlinux, t->name_off) : "";
		long data = -1;

		if (t && strcmp(tname, "bpf_struct_ops_fuse_ops") == 0) {
			const struct btf_member *m = btf_members(t);

			for (int i = 0; i < btf_vlen(t); i++)
				if (!strcmp(btf__name_by_offset(vmlinux, m[i].name_off), "data"))
					data = m[i].offset / 8;
		}
		char *value = calloc(1, info.value_size);
		__u32 key = 0;

		if (data >= 0 && value && data + FUSE_OPS_NAME_OFFSET + 16 <= info.value_size &&
		    bpf_map_lookup_elem(fd, &key, value) == 0) {
			__u32 state;

			memcpy(&state, value + 4, sizeof(state));
			if (state == STRUCT_OPS_STATE_INUSE) {
				printf("%.15s\n", value + data + FUSE_OPS_NAME_OFFSET);
				listed++;
			}
		}
		free(value);
		close(fd);
	}
	btf__free(vmlinux);
	fprintf(stderr, "fuse_sets: %d registered\n", listed);
	return 0;
}
