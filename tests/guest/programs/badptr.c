/* errno values for a bad pointer ((void*)1) passed to various syscalls,
 * issued raw so libc does not interpose. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BAD ((void *)1)
#define T(name, ...) do { errno = 0; long r = syscall(__VA_ARGS__); printf("%-22s r=%ld errno=%d\n", name, r, r < 0 ? errno : 0); } while (0)

int main(void) {
  int fd = open("/etc/passwd", O_RDONLY);
  int nfd = open("/dev/null", O_WRONLY);
  char tmpl[] = "/tmp/umk-badptr-XXXXXX";
  int wfd = mkstemp(tmpl);
  if (fd < 0 || nfd < 0 || wfd < 0) return 1;
  unlink(tmpl);
  T("read", SYS_read, fd, BAD, 10);
  T("read len0", SYS_read, fd, BAD, 0);
  T("write", SYS_write, wfd, BAD, 10);
  T("write /dev/null", SYS_write, nfd, BAD, 10); /* Linux: succeeds, never reads buffer */
  T("pwrite64", SYS_pwrite64, wfd, BAD, 10, 0);
  T("stat", SYS_stat, BAD, BAD);
  T("stat goodpath", SYS_stat, "/etc/passwd", BAD);
  T("fstat", SYS_fstat, fd, BAD);
  T("open", SYS_open, BAD, O_RDONLY);
  T("openat", SYS_openat, AT_FDCWD, BAD, O_RDONLY);
  T("uname", SYS_uname, BAD);
  T("clock_gettime", SYS_clock_gettime, 0 /*REALTIME*/, BAD);
  T("clock_gettime mono", SYS_clock_gettime, 1, BAD);
  T("getrandom", SYS_getrandom, BAD, 16, 0);
  T("getcwd", SYS_getcwd, BAD, 100);
  T("readlink", SYS_readlink, "/proc/self/exe", BAD, 100);
  T("gettimeofday", SYS_gettimeofday, BAD, NULL);
  T("getdents64", SYS_getdents64, fd, BAD, 4096);
  T("pread64", SYS_pread64, fd, BAD, 10, 0);
  return 0;
}
