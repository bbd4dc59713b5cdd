#!/bin/bash
# fuse_bpf_reload_test.sh BUILD_DIR FUSE_SETS: `fsrun reload` of a fuse-bpf
# view in the kernel tier's VM (fsc in the guest compiles the new policy).
#   - the new policy holds for names looked up before the reload (cached
#     dentries), names looked up after it, open files and open directories
#     of nodes it hides (they fail from then on);
#   - the new program sets are registered under names of their own, the
#     old ones are unregistered;
#   - a reload under load (readers in a loop) loses no request;
#   - a new policy that does not compile is refused and the old one keeps
#     serving;
#   - at the end no set is registered.
# Exit 77 when the VM cannot run.
set -uo pipefail
BUILD=$1
FUSE_SETS=$2
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/before.fspol" <<'POLICY'
policy before {
  hide "/**/*.key";
  readonly "/**";
  hide "/docs/private" unless uid == 0;
}
POLICY
cat >"$WORK/after.fspol" <<'POLICY'
policy after {
  hide "/a.txt";
  hide dir "/sub";
  deny write on "/docs/**" errno EACCES;
  hide "/docs/**" unless uid == 0;
}
POLICY
cat >"$WORK/broken.fspol" <<'POLICY'
policy broken {
  hide "/a.txt"
}
POLICY
cat >"$WORK/guest.sh" <<'GUEST'
#!/bin/sh
fails=0
check() { what=$1; shift; if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi; }
absent() { [ ! -e "$1" ]; }
sets() { fuse_sets 2>/dev/null | sort; }
prefix() { fsrun status --json /v | sed -n 's/.*"sets": \["\([a-z0-9]*_\).*/\1/p'; }
count() { sets | grep -c "^$1"; }
mkdir -p /l/sub/deep /l/docs /l/many /v
echo data > /l/a.txt; echo k > /l/id.key; echo s > /l/sub/deep/s.txt; echo d > /l/docs/r.txt
chmod 755 /l /l/docs; chmod 644 /l/docs/r.txt
(cd /l/many && seq 1 3000 | xargs touch)
check "mount" fsrun mount --mode fuse-bpf /p/before.fspol /l /v
# 3,000 files held open: 3,000 nodes the kernel keeps through the reload
(ulimit -n 4000; exec tail -f /v/many/* > /dev/null 2>&1) &
holder=$!
sleep 3
check "3,000 files held open" sh -c '[ "$(ls /proc/$0/fd | wc -l)" -ge 3000 ]' "$holder"
check "before: uid 1000 reads docs" fsop --run 1000 1000 cat /v/docs/r.txt
p1=$(prefix); n1=$(count "$p1")
check "before: keys hidden" absent /v/id.key
check "before: read-only" sh -c '! echo x 2>/dev/null > /v/new'
check "before: a.txt, sub shown" sh -c 'grep -q data /v/a.txt && [ -f /v/sub/deep/s.txt ]'
exec 3</v/a.txt
exec 4</v/sub/deep
out=$(fsrun reload /v /p/after.fspol 2>&1)
echo "$out"
check "reload" sh -c 'echo "$0" | grep -q "^kernel: .* given the new policy.s program sets"' "$out"
p2=$(prefix); n2=$(count "$p2")
echo "sets: $p1* ($n1) then $p2* ($n2)"
check "new sets under new names" [ -n "$p2" -a "$p2" != "$p1" -a "$n2" -gt 0 ]
check "old sets unregistered" [ "$(count "$p1")" = 0 ]
check "after: keys shown (a negative name looked up again)" grep -q k /v/id.key
check "after: a.txt hidden (a cached name)" absent /v/a.txt
check "after: sub hidden, and below it" sh -c '[ ! -e /v/sub ] && [ ! -e /v/sub/deep/s.txt ]'
check "after: the open a.txt fails" sh -c '! cat <&3 2>/dev/null'
check "after: the open sub/deep fails" sh -c '! ls /proc/self/fd/4/ >/dev/null 2>&1'
exec 3<&- 4<&-
check "after: writable" sh -c 'echo w > /v/new && grep -q w /l/new'
check "after: docs denied" sh -c '! echo x 2>/dev/null > /v/docs/r.txt && grep -q d /v/docs/r.txt'
check "after: docs hidden from uid 1000 (a cached name)" sh -c '! fsop --run 1000 1000 cat /v/docs/r.txt >/dev/null 2>&1'
check "after: not from root" grep -q d /v/docs/r.txt
out=$(fsrun reload /v /p/broken.fspol 2>&1)
echo "$out"
check "a policy that does not compile is refused" sh -c 'echo "$0" | grep -q "not reloaded"' "$out"
check "and the old one keeps serving" sh -c '[ ! -e /v/a.txt ] && grep -q w /v/new'
check "its sets stay" [ "$(count "$p2")" = "$n2" ]
# Under load: readers in a loop while the view goes back to the first policy.
: > /tmp/errors
(while [ ! -e /tmp/stop ]; do
	cat /v/docs/r.txt > /dev/null 2>&1 || echo "cat docs/r.txt" >> /tmp/errors
	ls /v/docs > /dev/null 2>&1 || echo "ls docs" >> /tmp/errors
	stat /v/new > /dev/null 2>&1 || echo "stat new" >> /tmp/errors
done) &
loader=$!
sleep 1
check "reload under load" fsrun reload /v /p/before.fspol
sleep 1
touch /tmp/stop; wait $loader
cat /tmp/errors
check "no request lost under load" [ ! -s /tmp/errors ]
p3=$(prefix)
check "back: keys hidden again" absent /v/id.key
check "back: a.txt shown again" grep -q data /v/a.txt
check "back: read-only again" sh -c '! echo x 2>/dev/null > /v/new2'
check "back: the sets of 'after' unregistered" [ "$(count "$p2")" = 0 -a -n "$p3" ]
kill "$holder"; wait "$holder" 2>/dev/null
check "umount" fsrun umount /v
check "no sets left" [ "$(sets | wc -l)" = 0 ]
echo "failures: $fails"
[ "$fails" = 0 ]
GUEST
chmod +x "$WORK/guest.sh"
"$HERE/run-vm.sh" --timeout 300 --fspol "$BUILD" --fsc --add-exe "$FUSE_SETS:/usr/bin/fuse_sets" \
	--add "$WORK/before.fspol:/p/before.fspol" --add "$WORK/after.fspol:/p/after.fspol" \
	--add "$WORK/broken.fspol:/p/broken.fspol" --add "$WORK/guest.sh:/p/guest.sh" -- /p/guest.sh
