#!/bin/bash
# fsc_in_vm_test.sh BUILD_DIR: `kernel/run-vm.sh --fsc` puts fsc in the VM,
# and `fsrun mount --mode fuse-bpf` of a policy file compiles its programs
# there (no -o bpf=): the view hides and protects what the policy says, in
# fuse-bpf mode. Exit 77 when the VM cannot run.
set -uo pipefail
BUILD=$1
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/my.fspol" <<'POLICY'
policy my {
  hide "/**/*.key";
  readonly "/docs/**";
}
POLICY
cat >"$WORK/guest.sh" <<'GUEST'
#!/bin/sh
fails=0
check() { what=$1; shift; if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi; }
mkdir -p /tmp/lower/docs /tmp/view
echo k > /tmp/lower/a.key; echo d > /tmp/lower/docs/r.txt; echo p > /tmp/lower/plain
check "fsc is in the guest" [ -x /usr/bin/fsc ]
check "mount compiles the policy in the guest" fsrun mount --mode fuse-bpf /p/my.fspol /tmp/lower /tmp/view
fsrun status /tmp/view | grep '^mode'
check "fuse-bpf mode" sh -c 'fsrun status /tmp/view | grep -q "^mode: fuse-bpf"'
check "keys hidden" sh -c '! ls /tmp/view | grep -q key && ! cat /tmp/view/a.key 2>/dev/null'
check "docs read-only" sh -c '! echo x 2>/dev/null > /tmp/view/docs/r.txt && grep -q d /tmp/view/docs/r.txt'
check "the rest writable" sh -c 'echo q > /tmp/view/plain && grep -q q /tmp/lower/plain'
check "umount" fsrun umount /tmp/view
echo "failures: $fails"
[ "$fails" = 0 ]
GUEST
chmod +x "$WORK/guest.sh"
"$HERE/run-vm.sh" --timeout 300 --fspol "$BUILD" --fsc --add "$WORK/my.fspol:/p/my.fspol" \
	--add "$WORK/guest.sh:/p/guest.sh" -- /p/guest.sh
