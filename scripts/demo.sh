#!/usr/bin/env bash
# The fspol demo: installs what is missing, builds, checks and formats an
# example policy, shows what fsc says about a deliberately broken copy, then
# mounts a generated sample tree through fsrun, shows the stacked view
# working, and unmounts (always, even on failure).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >/dev/null
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  >/dev/null
cmake --build "$build_dir" --target fsc fsrun -j "$(nproc)" >/dev/null
fsc=$(realpath "$build_dir/bin/fsc")
fsrun=$(realpath "$build_dir/bin/fsrun")
example=examples/android-media.fspol

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "The policy: $example"
cat "$example"

step "fsc check $example"
"$fsc" check "$example" && echo "ok: no errors"

step "fsc fmt: the same policy written carelessly, printed in canonical form"
work=$(mktemp -d)
chmod 755 "$work"  # other users (the uid 1000 steps) reach the views
# Whatever happens, unmount the view and stop its daemon before removing
# the work directory.
cleanup() {
  set +e
  if [ -d "$work/view" ] && mountpoint -q "$work/view"; then
    "$fsrun" umount "$work/view" 2>/dev/null || umount -l "$work/view"
  fi
  if [ -n "${daemon_pid:-}" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill "$daemon_pid"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/careless.fspol" <<'POLICY'
policy careless{ let private=dir "/Android/{data,obb}/*";hide private unless uid in 10000..19999 or comm=="adbd";
deny write,create on "/DCIM/.thumbnails/**" when uid!=10057 errno EPERM;   # thumbnails
attr file "/Music/**"{mode&=0644;}}
POLICY
"$fsc" fmt "$work/careless.fspol"

step "A broken copy: every mistake is reported, with its place and a hint"
cat >"$work/broken.fspol" <<'POLICY'
policy broken {
  hide "Android/data/*" unless uid in 10000..19999;
  deny wrte, create on "/DCIM/.thumbnails/**" errno EACESS;
  attr file "/Music/**" { mode &= 0644; owner = 1000; }
  hide "/logs/[z-a]*.log" when uid = 0;
}
POLICY
cat -n "$work/broken.fspol"
echo
set +e
(cd "$work" && "$fsc" check broken.fspol)
status=$?
set -e
echo "(exit status $status: errors in the policy)"

step "What the policy means: fsc explain, request by request"
for request in "/Android/data/com.example --op read --type dir --uid 99999" \
               "/Android/data/com.example --op read --type dir --uid 10057" \
               "/DCIM/.thumbnails/1.jpg --op write --uid 10057"; do
  echo "\$ fsc explain $example $request"
  # shellcheck disable=SC2086  # the request is meant to split into arguments
  "$fsc" explain "$example" $request | sed 's/^/  /'
done

step "fsrun: a stacked view of a generated sample tree (examples/passthrough.fspol)"
if [ "$(id -u)" != 0 ] || [ ! -e /dev/fuse ]; then
  echo "(skipped: mounting needs root and /dev/fuse)"
  exit 0
fi
lower=$work/lower
mkdir -p "$lower/DCIM/Camera" "$lower/Android/data/com.example.app" "$lower/Music" "$work/view"
echo "Welcome to the sample tree." >"$lower/README.txt"
head -c 300000 /dev/urandom >"$lower/DCIM/Camera/IMG_0001.jpg"
echo "app private state" >"$lower/Android/data/com.example.app/state.db"
printf 'track %s\n' 1 2 3 >"$lower/Music/playlist.m3u"
ln -s Music/playlist.m3u "$lower/favourites"
"$fsrun" mount examples/passthrough.fspol "$lower" "$work/view"
daemon_pid=$("$fsrun" status "$work/view" | awk '/^pid:/ {print $2}')
echo "mounted: $(grep " $work/view " /proc/mounts)"
echo
echo "\$ ls -lR view/   (the lower tree, as the view shows it)"
(cd "$work" && ls -lR view/ | sed 's/^/  /')
echo
echo "\$ cat view/README.txt view/favourites"
cat "$work/view/README.txt" "$work/view/favourites" | sed 's/^/  /'
echo "\$ cmp lower/DCIM/Camera/IMG_0001.jpg view/DCIM/Camera/IMG_0001.jpg"
cmp "$lower/DCIM/Camera/IMG_0001.jpg" "$work/view/DCIM/Camera/IMG_0001.jpg" && echo "  identical"
echo "\$ echo note >view/Music/new.txt; mv view/Music/new.txt view/notes.txt"
echo note >"$work/view/Music/new.txt"
mv "$work/view/Music/new.txt" "$work/view/notes.txt"
echo "  in the lower tree now: $(cat "$lower/notes.txt")"
echo
echo "(this policy has no rules, so the view equals the lower tree)"
echo
echo "\$ setpriv --reuid=1000 --regid=1000 --clear-groups sh -c 'echo x >>view/README.txt'"
echo "  (callers keep their own rights: the lower file belongs to root, mode 0644)"
set +e
setpriv --reuid=1000 --regid=1000 --clear-groups sh -c "echo x >>'$work/view/README.txt'" 2>&1 |
  sed "s|$work/||; s/^/  /"
set -e
echo
echo "\$ fsrun status view/"
"$fsrun" status "$work/view" | sed 's/^/  /'
echo "\$ fsrun umount view/"
"$fsrun" umount "$work/view"
mountpoint -q "$work/view" || echo "  unmounted"

step "fsrun applies a policy: hidden names and a read-only subtree"
cat >"$work/view.fspol" <<'POLICY'
policy sample_view {
  hide "/**/.env";
  hide dir "/Android/data/*" unless uid == 0;
  readonly "/DCIM/**";
}
POLICY
echo "DB_PASSWORD=hunter2" >"$lower/.env"
cat -n "$work/view.fspol"
"$fsrun" mount "$work/view.fspol" "$lower" "$work/view"
echo "\$ ls -a view/    (the lower tree has .env)"
ls -a "$work/view" | sed 's/^/  /'
echo "\$ cat view/.env"
set +e
cat "$work/view/.env" 2>&1 | sed "s|$work/||; s/^/  /"
echo "\$ touch view/DCIM/new.jpg"
touch "$work/view/DCIM/new.jpg" 2>&1 | sed "s|$work/||; s/^/  /"
echo "\$ setpriv --reuid=1000 --regid=1000 --clear-groups ls view/Android/data/"
setpriv --reuid=1000 --regid=1000 --clear-groups ls "$work/view/Android/data/" 2>&1 | sed "s|$work/||; s/^/  /"
echo "\$ ls view/Android/data/    (as root)"
ls "$work/view/Android/data/" 2>&1 | sed 's/^/  /'
set -e
echo "\$ fsc explain view.fspol /DCIM/new.jpg --op create    (the same decision, explained)"
"$fsc" explain "$work/view.fspol" /DCIM/new.jpg --op create | sed "s|$work/||; s/^/  /"
"$fsrun" umount "$work/view"

step "fsrun applies $example: what an app, the shell and another user see"
mkdir -p "$lower/DCIM/.thumbnails"
echo "thumbnail" >"$lower/DCIM/.thumbnails/1.jpg"
chmod 0755 "$lower/DCIM/Camera/IMG_0001.jpg"
grep -v '^ *#' "$example" | sed -n '/^policy/,$p' | sed 's/^/  /'
"$fsrun" mount "$example" "$lower" "$work/view"
for who in "10001 an app" "2000 the shell" "99999 another user"; do
  set -- $who
  uid=$1
  shift
  echo "\$ setpriv --reuid=$uid --regid=$uid --clear-groups ls -n view/Android/data view/DCIM/Camera   ($*)"
  setpriv --reuid="$uid" --regid="$uid" --clear-groups ls -n "$work/view/Android/data" \
    "$work/view/DCIM/Camera" 2>&1 | sed "s|$work/||; s/^/  /"
done
echo "  (lower: $(stat -c '%U:%G %A' "$lower/DCIM/Camera/IMG_0001.jpg") -- shown as owned by root,"
echo "   group everybody (9997), without execute bits)"
echo "\$ setpriv --reuid=10001 ... sh -c 'echo x >view/DCIM/.thumbnails/1.jpg'   (an app)"
set +e
setpriv --reuid=10001 --regid=10001 --clear-groups sh -c "echo x >'$work/view/DCIM/.thumbnails/1.jpg'" 2>&1 |
  sed "s|$work/||; s/^/  /"
set -e
echo "  (EPERM: only the media provider, uid 1023, writes thumbnails)"
"$fsrun" umount "$work/view"

step "A userspace handler: examples/redact.fspol"
echo "Logs are served through the shipped redact_secrets handler (RE2 patterns)"
echo "to everyone but root and the adm group; core dumps are hidden."
logs="$work/logs"
mkdir -p "$logs/app"
printf '%s\n' "10:02 login bob password=hunter2" "10:03 mail to alice@example.com" \
  "10:04 GET /v1 Authorization: Bearer 9f8e7d6c5b4a" >"$logs/app/app.log"
echo core >"$logs/app/core"
chmod -R a+rX "$logs"
sed "s|/var/log/fspol/redact-audit.log|$work/redact-audit.log|" examples/redact.fspol \
  >"$work/redact.fspol"
echo "\$ fsrun mount examples/redact.fspol logs/ view/   (audit log moved to the work dir)"
"$fsrun" mount "$work/redact.fspol" "$logs" "$work/view"
echo "\$ cat view/app/app.log   (root)"
sed 's/^/  /' "$work/view/app/app.log"
echo "\$ setpriv --reuid=1000 --regid=1000 --clear-groups cat view/app/app.log"
setpriv --reuid=1000 --regid=1000 --clear-groups cat "$work/view/app/app.log" | sed 's/^/  /'
echo "\$ ls view/app   (core is hidden)"
ls "$work/view/app" | sed 's/^/  /'
"$fsrun" umount "$work/view"

step "A subtree served from another lower root (examples/redirect.fspol)"
echo "Object files come from a content-addressed store, locale data from a"
echo "shared root; the image's own tree holds names and directories."
mkdir -p "$work/image/objects/ab" "$work/image/usr/share" "$work/store/ab" "$work/shared/common/de"
echo "object cd01 from the store" > "$work/store/ab/cd01"
echo "a stale copy in the image" > "$work/image/objects/ab/cd01"
echo "de translations" > "$work/shared/common/de/app.mo"
echo "\$ fsrun mount -o lower.objects=store/,lower.shared=shared/ examples/redirect.fspol image/ view/"
"$fsrun" mount -o "lower.objects=$work/store,lower.shared=$work/shared" examples/redirect.fspol \
  "$work/image" "$work/view"
echo "\$ cat view/objects/ab/cd01; ls view/usr/share view/usr/share/locale/de"
sed 's/^/  /' "$work/view/objects/ab/cd01"
(cd "$work" && ls view/usr/share view/usr/share/locale/de) | sed 's/^/  /'
echo "\$ echo x >> view/objects/ab/cd01   (the image is read-only)"
set +e
(cd "$work" && sh -c 'echo x >> view/objects/ab/cd01') 2>&1 | sed 's/^/  /'
set -e
"$fsrun" umount "$work/view"

step "fsrun never mounts a view that looks protected and is not"
echo "A rule the daemon cannot apply as written refuses the mount, located:"
echo "fcntl locks stay in the kernel, so a deny of lock alone cannot hold."
printf 'policy nolock {\n  deny lock on "/**";\n}\n' > "$work/nolock.fspol"
echo "\$ fsrun mount nolock.fspol lower/ view/"
set +e
"$fsrun" mount "$work/nolock.fspol" "$lower" "$work/view" 2>&1 | grep -A3 "error:" | head -4 | sed 's/^/  /'
set -e
mountpoint -q "$work/view" || echo "  (nothing mounted)"
