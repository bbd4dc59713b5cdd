// seqio: sequential write (with fsync) or read of a file in 1 MiB blocks,
// for bench/kernel/guest.sh (busybox's dd does not time itself).
// usage: seqio FILE write|read MIB; prints MB/s.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	struct timespec a, b;

	if (argc != 4) {
		fprintf(stderr, "usage: seqio FILE write|read MIB\n");
		return 2;
	}
	int writing = !strcmp(argv[2], "write");
	long mib = atol(argv[3]);
	int fd = open(argv[1], writing ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, 0644);

	if (fd < 0)
		return perror(argv[1]), 1;
	memset(buf, 'x', sizeof buf);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < mib; i++) {
		ssize_t n = writing ? write(fd, buf, sizeof buf) : read(fd, buf, sizeof buf);

		if (n != (ssize_t)sizeof buf)
			return perror(argv[1]), 1;
	}
	if (writing && fsync(fd))
		return perror("fsync"), 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	close(fd);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%.0f\n", (double)mib / s);
	return 0;
}
