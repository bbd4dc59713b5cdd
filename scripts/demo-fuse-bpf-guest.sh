#!/bin/sh
# The fuse-bpf demo's part inside the kernel tier's VM (run by
# scripts/demo-fuse-bpf.sh): the Android scoped-storage view of
# examples/android-media.fspol, first with its compiled programs in the
# kernel (fsrun --mode fuse-bpf), then served by the daemon alone, with the
# requests that reached the daemon in each mode.
ex=/usr/share/fspol/examples
lower=/tmp/lower
view=/tmp/view
step() { printf '\n== %s\n' "$*"; }

step "The kernel: Linux $(uname -r), fuse-bpf $(cat /sys/fs/fuse/features/fuse_bpf)"
mkdir -p $lower/DCIM/Camera $lower/DCIM/.thumbnails $lower/Android/data/com.example.app \
	$lower/Music $view
echo "Welcome to the sample tree." >$lower/README.txt
head -c 300000 /dev/urandom >$lower/DCIM/Camera/IMG_0001.jpg
chmod 0755 $lower/DCIM/Camera/IMG_0001.jpg
echo "app private state" >$lower/Android/data/com.example.app/state.db
echo "thumbnail" >$lower/DCIM/.thumbnails/1.jpg
printf 'track %s\n' 1 2 3 >$lower/Music/playlist.m3u
grep -v '^ *#' $ex/android-media.fspol | sed -n '/^policy/,$p' | sed 's/^/  /'

show() {
	for who in "10001 an app" "2000 the shell" "99999 another user"; do
		set -- $who
		uid=$1
		shift
		echo "\$ ls -n view/Android/data view/DCIM/Camera   (uid $uid: $*)"
		fsop --run "$uid" "$uid" ls -n $view/Android/data $view/DCIM/Camera 2>&1 |
			sed "s|$view|view|; s/^/  /"
	done
	echo "\$ echo x >view/DCIM/.thumbnails/1.jpg   (uid 10001, an app)"
	fsop --run 10001 10001 sh -c "echo x >$view/DCIM/.thumbnails/1.jpg" 2>&1 | sed "s|$view|view|; s/^/  /"
	echo "\$ cmp lower/DCIM/Camera/IMG_0001.jpg view/DCIM/Camera/IMG_0001.jpg"
	cmp $lower/DCIM/Camera/IMG_0001.jpg $view/DCIM/Camera/IMG_0001.jpg && echo "  identical"
}

for mode in fuse-bpf daemon; do
	step "fsrun mount --mode $mode examples/android-media.fspol lower/ view/"
	fsrun mount -d --mode $mode -o bpf=$ex/android-media.bpf.o $ex/android-media.fspol $lower $view ||
		exit 1
	show
	step "fsrun status view/ ($mode mode): the requests that reached the daemon"
	fsrun status $view | sed -n '/^mode:/p; /^requests:/,$p' | sed 's/^/  /'
	fsrun umount $view
done
