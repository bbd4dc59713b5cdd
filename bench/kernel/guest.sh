#!/bin/sh
# The fuse-bpf benchmark's part in the kernel tier's VM (bench/kernel/run.sh):
# metadata and data rows on one lower tmpfs, native and through fsrun in
# fuse-bpf and daemon mode, with allow-all (passthrough.fspol), with
# android-media.fspol, with bench/kernel/hides.fspol (hidden names in
# every listing: in fuse-bpf mode filtered by BPF, /p/hides.*) and with
# bench/kernel/names.fspol (names mapped: lookups in BPF, /p/names.*); prints
# "ROW config row value" lines (ops/s, MB/s).
# usage: guest.sh FILES REPEATS
echo  # the console's last line has no newline yet
n=${1:-2000}
repeats=${2:-3}
ex=/usr/share/fspol/examples
mount -t tmpfs -o size=512m tmpfs /mnt
lower=/mnt/lower
mkdir -p $lower /tmp/view
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }
mb() { # mb DIR PHASE
	metabench "$1" "$n" "$2"
}
data() { # data DIR: sequential write and read of 64 MiB, MB/s
	echo "ROW $config seq_write_MBps $(seqio "$1/big" write 64)"
	cold
	echo "ROW $config seq_read_MBps $(seqio "$1/big" read 64)"
	rm -f "$1/big"
}
suite() { # suite DIR: the rows, in an order that leaves the tree as found
	d=$1/Music/bench
	mkdir -p "$d"
	echo "ROW $config create $(mb "$d" create)"
	cold; echo "ROW $config stat_cold $(mb "$d" stat)"
	echo "ROW $config stat_warm $(mb "$d" stat)"
	echo "ROW $config stat_missing $(mb "$d" stat_missing)"
	cold; echo "ROW $config open_read_close_cold $(mb "$d" open_read_close)"
	echo "ROW $config open_close $(mb "$d" open_close)"
	cold; echo "ROW $config readdir_lstat_cold $(mb "$d" readdir_lstat)"
	echo "ROW $config readdir $(mb "$d" readdir)"
	echo "ROW $config unlink $(mb "$d" unlink)"
	rmdir "$d"
	data "$1/Music"
}
mkdir -p $lower/Music
for r in $(seq 1 "$repeats"); do
	config=native
	suite $lower
	for policy in passthrough android-media hides names; do
		dir=$ex
		[ -f $dir/$policy.fspol ] || dir=/p
		for mode in fuse-bpf daemon; do
			config="$mode:$policy"
			fsrun mount --mode $mode -o bpf=$dir/$policy.bpf.o,allow_other $dir/$policy.fspol \
				$lower /tmp/view || exit 1
			suite /tmp/view
			[ "$r" = 1 ] && fsrun status /tmp/view | sed -n 's/^/  /; /^  mode:/p; /^  requests:/,$p'
			fsrun umount /tmp/view
		done
	done
done
