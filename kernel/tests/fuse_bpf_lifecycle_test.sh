#!/bin/bash
# fuse_bpf_lifecycle_test.sh FSC FSRUN FUSE_SETS: the life of fsrun's
# program sets in the kernel tier's VM.
#   - two mounts of one policy and one of another at once: each mount has
#     sets of its own, and each view applies its policy;
#   - unmounting one view unregisters its sets and leaves the other view of
#     the same policy working (children looked up afterwards get their sets);
#   - a daemon killed with SIGKILL leaves its sets registered until
#     `fsrun umount`, which removes them;
#   - a policy whose plan sends the daemon nothing is mounted with
#     no_daemon: the view works without a /dev/fuse connection, also after
#     fsrun's process is killed, and `fsrun umount` ends it; a reload of
#     it is refused;
#   - at the end no set is registered.
# Exit 77 when the VM cannot run.
set -uo pipefail
FSC=$1
FSRUN=$2
FUSE_SETS=$3
HERE=$(cd "$(dirname "$0")/.." && pwd)
TOP=$(cd "$HERE/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FSOP=$(dirname "$FUSE_SETS")/fsop
adds=(--add-exe "$FSRUN:/usr/bin/fsrun" --add-exe "$FUSE_SETS:/usr/bin/fuse_sets" --add-exe "$FSOP:/usr/bin/fsop")
for p in readonly-secrets android-media passthrough; do
	"$FSC" compile --target=fspol-6.1 --emit=bpf-obj -o "$WORK/$p.bpf.o" "$TOP/examples/$p.fspol" || exit 1
	adds+=(--add "$WORK/$p.bpf.o:/p/$p.bpf.o" --add "$TOP/examples/$p.fspol:/p/$p.fspol")
done
for f in "$TOP"/stdlib/policies/*.fspol; do
	adds+=(--add "$f:/p/stdlib/$(basename "$f")")
done

cat >"$WORK/guest.sh" <<'GUEST'
#!/bin/sh
echo
export PATH=$PATH:/usr/bin
mkdir -p /run
fails=0
check() { # check WHAT COMMAND...: the command must succeed
	what=$1; shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
absent() { [ ! -e "$1" ]; }
sets() { fuse_sets 2>/dev/null | sort; }
count() { sets | grep -c "^$1" ; }
mountv() { # mountv POLICY MNT
	mkdir -p /w/$2/lower/sub /w/$2/mnt
	echo data > /w/$2/lower/a.txt; echo key > /w/$2/lower/id_rsa; echo s > /w/$2/lower/sub/.env
	fsrun mount --stdlib=/p/stdlib --mode fuse-bpf -o bpf=/p/$1.bpf.o /p/$1.fspol /w/$2/lower /w/$2/mnt
}
prefix() { fsrun status --json /w/$1/mnt | sed -n 's/.*"sets": \["\([a-z0-9]*_\).*/\1/p'; }

check "no sets before" [ "$(sets | wc -l)" = 0 ]
check "mount one" mountv readonly-secrets one
check "mount two (same policy)" mountv readonly-secrets two
check "mount three (android-media)" mountv android-media three
p1=$(prefix one); p2=$(prefix two); p3=$(prefix three)
echo "prefixes: $p1 $p2 $p3"
check "names differ per mount" [ -n "$p1" -a -n "$p2" -a -n "$p3" -a "$p1" != "$p2" -a "$p1" != "$p3" ]
n1=$(count "$p1"); n3=$(count "$p3")
echo "registered: $n1 for one, $(count "$p2") for two, $n3 for three"
check "every set of each mount registered" [ "$n1" -gt 0 -a "$(count "$p2")" = "$n1" -a "$n3" -gt 0 ]
check "one hides keys" absent /w/one/mnt/id_rsa
check "two hides keys" absent /w/two/mnt/id_rsa
check "one shows files" grep -q data /w/one/mnt/a.txt
check "two is read-only" sh -c '! echo x > /w/two/mnt/new 2>/dev/null'

check "umount one" fsrun umount /w/one/mnt
check "one's sets unregistered" [ "$(count "$p1")" = 0 ]
check "two's sets still registered" [ "$(count "$p2")" = "$n1" ]
echo more > /w/two/lower/sub/b.txt
check "two: a child looked up now gets its set" grep -q more /w/two/mnt/sub/b.txt
check "two: and its hides" absent /w/two/mnt/sub/.env
check "three: mkdir through the view" mkdir -p /w/three/mnt/Music/new/deeper
check "three: create inside it" sh -c 'echo song > /w/three/mnt/Music/new/deeper/a.mp3'
check "three: read back" grep -q song /w/three/mnt/Music/new/deeper/a.mp3
check "three: rename inside it" mv /w/three/mnt/Music/new/deeper/a.mp3 /w/three/mnt/Music/new/b.mp3
check "three: in the lower tree" grep -q song /w/three/lower/Music/new/b.mp3
check "three: hides hold in made directories" sh -c 'mkdir -p /w/three/lower/Music/new/Android/data/x && [ -d /w/three/mnt/Music/new/Android/data/x ]'
check "three: the app directories made through the view are hidden from others" sh -c 'mkdir -p /w/three/mnt/Android/data/com.app && ! fsop --run 99999 99999 ls /w/three/mnt/Android/data/com.app >/dev/null 2>&1'

pid=$(fsrun status --json /w/three/mnt | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
check "kill three's daemon" kill -9 "$pid"
sleep 1
check "three's sets stay registered after the kill" [ "$(count "$p3")" = "$n3" ]
check "umount three after the kill" fsrun umount /w/three/mnt
check "three's sets unregistered by umount" [ "$(count "$p3")" = 0 ]

# Listings filtered in BPF: hidden entries (typed: *.sql files, not
# directories) dropped from chunks, a chunk of hidden entries only read on.
# (tmpfs lists the newest entries first: the visible one is made first.)
mkdir -p /w/two/lower/many /w/two/lower/sub/dir.sql
: > /w/two/lower/many/zz.txt
i=0; while [ $i -lt 300 ]; do : > /w/two/lower/many/dump$i.sql; : > /w/two/lower/sub/d$i.sql; i=$((i + 1)); done
check "two: a chunk of hidden entries only is read on" sh -c '[ "$(ls /w/two/mnt/many)" = zz.txt ]'
mkdir -p /w/two/lower/huge
(cd /w/two/lower/huge && : > zz.txt && seq 1 10000 | sed 's/$/.sql/' | xargs touch)
check "two: and so are 10,000 hidden entries in a row (80 chunks)" sh -c '[ "$(ls /w/two/mnt/huge)" = zz.txt ]'
check "two: hidden files dropped, the rest listed" sh -c '[ "$(ls /w/two/mnt/sub | tr "\n" " ")" = "b.txt dir.sql " ]'
check "two: listings never reached the daemon" sh -c '! fsrun status /w/two/mnt | grep -q "readdir postfilter"'
check "android-media has a daemon" sh -c '! fsrun status --json /w/two/mnt | grep -q "\"no_daemon\": true"'

check "mount passthrough" mountv passthrough four
st=$(fsrun status /w/four/mnt)
echo "$st" | grep '^mode'
check "passthrough: no daemon" sh -c "echo \"\$0\" | grep -q 'no daemon: the plan leaves it nothing'" "$st"
check "passthrough: status json says so" sh -c 'fsrun status --json /w/four/mnt | grep -q "\"no_daemon\": true"'
check "passthrough: reads" grep -q data /w/four/mnt/a.txt
check "passthrough: writes" sh -c 'echo new > /w/four/mnt/sub/n.txt && grep -q new /w/four/lower/sub/n.txt'
check "passthrough: lists" sh -c 'ls /w/four/mnt | grep -q id_rsa'
out=$(fsrun reload /w/four/mnt 2>&1)
echo "$out"
check "passthrough: a reload is refused (no daemon to serve a new policy)" sh -c 'echo "$0" | grep -q "mounted without a daemon"' "$out"
pid=$(fsrun status --json /w/four/mnt | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
check "passthrough: fsrun holds no /dev/fuse" sh -c "[ -n \"\$0\" ] && ! ls -l /proc/\$0/fd | grep -q /dev/fuse" "$pid"
check "kill fsrun of the no_daemon view" kill -9 "$pid"
sleep 1
check "the view works without it" sh -c 'grep -q data /w/four/mnt/a.txt && echo more > /w/four/mnt/m.txt'
check "status: no daemon" sh -c 'fsrun status /w/four/mnt | grep -q "state: no daemon"'
out=$(mountv passthrough four 2>&1)
echo "$out"
check "a mount on it is refused: the kernel still serves it" sh -c 'echo "$0" | grep -q "the kernel still serves it"' "$out"
check "umount the no_daemon view" fsrun umount /w/four/mnt
check "the no_daemon view is gone" sh -c '! grep -q /w/four/mnt /proc/mounts'
check "mount passthrough again" mountv passthrough five
pid=$(fsrun status --json /w/five/mnt | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
check "umount it with fsrun alive" fsrun umount /w/five/mnt
sleep 1
check "its fsrun saw the unmount and left" sh -c "[ -n \"\$0\" ] && ! kill -0 \$0 2>/dev/null" "$pid"
check "no status left for it" sh -c 'fsrun status | grep -q "no fspol mounts" || ! fsrun status | grep -q /w/five'

check "umount two" fsrun umount /w/two/mnt
check "no sets left" [ "$(sets | wc -l)" = 0 ]
check "nothing mounted" sh -c '! grep -q fspol /proc/mounts'
echo "failures: $fails"
[ "$fails" = 0 ]
GUEST
chmod +x "$WORK/guest.sh"
"$HERE/run-vm.sh" --timeout 300 "${adds[@]}" --add "$WORK/guest.sh:/p/guest.sh" -- /p/guest.sh
