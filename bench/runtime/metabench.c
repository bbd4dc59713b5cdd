// metabench: metadata operations per second in one directory, for
// bench/runtime/run.sh. usage: metabench DIR N PHASE
// PHASE: create | create_write | stat | stat_missing | open_close |
//        open_read_close | readdir | readdir_lstat | unlink
// Prints "<ops/s>". Files are DIR/f<i>; the caller orders phases.
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: metabench DIR N PHASE\n");
    return 2;
  }
  const char* dir = argv[1];
  long n = atol(argv[2]);
  const char* phase = argv[3];
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  if (dfd < 0) {
    perror(dir);
    return 1;
  }
  char name[64], buf[4096];
  memset(buf, 'x', sizeof buf);
  long ops = 0;
  double t0 = now();
  if (!strcmp(phase, "readdir") || !strcmp(phase, "readdir_lstat")) {
    int lst = !strcmp(phase, "readdir_lstat");
    DIR* d = fdopendir(dup(dfd));
    struct dirent* e;
    struct stat st;
    while ((e = readdir(d)) != NULL) {
      if (lst && fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) return 1;
      ops++;
    }
    closedir(d);
  } else {
    for (long i = 0; i < n; i++) {
      snprintf(name, sizeof name, "f%ld", i);
      struct stat st;
      int fd;
      if (!strcmp(phase, "create")) {
        fd = openat(dfd, name, O_CREAT | O_WRONLY | O_EXCL, 0644);
        if (fd < 0 || close(fd)) return perror(name), 1;
      } else if (!strcmp(phase, "create_write")) {
        fd = openat(dfd, name, O_CREAT | O_WRONLY | O_EXCL, 0644);
        if (fd < 0 || write(fd, buf, sizeof buf) != sizeof buf || close(fd)) return perror(name), 1;
      } else if (!strcmp(phase, "stat")) {
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW)) return perror(name), 1;
      } else if (!strcmp(phase, "stat_missing")) {
        snprintf(name, sizeof name, "missing%ld", i);
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) return 1;
      } else if (!strcmp(phase, "open_close")) {
        fd = openat(dfd, name, O_RDONLY);
        if (fd < 0 || close(fd)) return perror(name), 1;
      } else if (!strcmp(phase, "open_read_close")) {
        fd = openat(dfd, name, O_RDONLY);
        if (fd < 0 || read(fd, buf, sizeof buf) < 0 || close(fd)) return perror(name), 1;
      } else if (!strcmp(phase, "unlink")) {
        if (unlinkat(dfd, name, 0)) return perror(name), 1;
      } else {
        fprintf(stderr, "unknown phase %s\n", phase);
        return 2;
      }
      ops++;
    }
  }
  double dt = now() - t0;
  printf("%.0f\n", (double)ops / dt);
  return 0;
}
