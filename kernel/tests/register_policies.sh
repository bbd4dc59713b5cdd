#!/bin/bash
# register_policies.sh FSC POLICY...: compile each policy's fuse_ops object
# (gen:N for bench/gen_policy.py's policy of N rules)
# with fsc on the host (in process, --target=fspol-6.1), boot the kernel
# tier's VM with the objects added, and register every program set there
# (tests/register.c): the fuse-bpf verifier accepts the generated programs
# and the registry takes their sets.  Exit 77 when the VM cannot run.
set -uo pipefail
FSC=$1
shift
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
add=()
guests=()
for policy in "$@"; do
	# gen:N: bench/gen_policy.py's policy of N rules
	if [[ $policy == gen:* ]]; then
		python3 "$HERE/../bench/gen_policy.py" "${policy#gen:}" >"$WORK/generated-${policy#gen:}.fspol"
		policy=$WORK/generated-${policy#gen:}.fspol
	fi
	name=$(basename "$policy" .fspol)
	if ! "$FSC" compile --target=fspol-6.1 --emit=bpf-obj -o "$WORK/$name.bpf.o" "$policy"; then
		echo "register_policies: fsc failed on $policy" >&2
		exit 1
	fi
	add+=(--add "$WORK/$name.bpf.o:/p/$name.bpf.o")
	guests+=("/p/$name.bpf.o")
done
exec "$HERE/run-vm.sh" --timeout 300 "${add[@]}" -- register "${guests[@]}"
