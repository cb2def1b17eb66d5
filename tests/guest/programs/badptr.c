/* errno values for a bad pointer ((void*)1) passed to various syscalls,
 * issued raw so libc does not interpose; pointers in the kernel's half
 * (access_ok fails before the file is asked); a buffer that runs into an
 * unreadable page (a short write of what could be read). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

  void *kernel = (void *)0xffff880000000000UL, *top = (void *)0x7ffffffff000UL;
  T("write /dev/null kernel", SYS_write, nfd, kernel, 10);
  T("write /dev/null top-8", SYS_write, nfd, (char *)top - 8, 10);
  T("read /dev/null kernel", SYS_read, nfd, kernel, 10);
  T("pwrite64 kernel", SYS_pwrite64, wfd, kernel, 10, 0);
  T("pread64 kernel", SYS_pread64, fd, kernel, 10, 0);
  T("write huge count", SYS_write, nfd, (void *)0x1000, (long)0x7ffffffff000UL);

  long page = sysconf(_SC_PAGESIZE);
  char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(m, 'x', page);
  mprotect(m + page, page, PROT_NONE);
  T("write into PROT_NONE", SYS_write, wfd, m + page - 100, 200);
  T("write 0 at PROT_NONE", SYS_write, wfd, m + page, 0);
  T("write from PROT_NONE", SYS_write, wfd, m + page, 10);
  int p[2];
  if (pipe2(p, O_NONBLOCK)) return 1;
  T("pipe write into PROT_NONE", SYS_write, p[1], m + page - 100, 200);
  char got[256];
  T("pipe read back", SYS_read, p[0], got, sizeof got);
  /* a pipe keeps what a faulting read could not deliver */
  T("pipe write", SYS_write, p[1], "hello world", 11);
  T("pipe read into PROT_NONE", SYS_read, p[0], m + page - 4, 11);
  struct { void *base; unsigned long len; } split[2] = { { got, 5 }, { m + page, 10 } };
  T("pipe readv, 2nd segment bad", SYS_readv, p[0], split, 2);
  T("pipe still has", SYS_read, p[0], got, sizeof got);
  /* a file with positions reads as far as the buffer takes */
  int rf = open("/etc/passwd", O_RDONLY);
  T("read file into PROT_NONE", SYS_read, rf, m + page - 100, 200);
  T("  position after", SYS_lseek, rf, 0, SEEK_CUR);
  T("pread file into PROT_NONE", SYS_pread64, rf, m + page - 50, 200, 0);
  close(rf);
  /* a procfs file takes all or nothing */
  int adj = open("/proc/self/oom_score_adj", O_WRONLY);
  memcpy(m + page - 2, "17", 2);
  T("procfs write into PROT_NONE", SYS_write, adj, m + page - 2, 10);
  char now[16] = "";
  int rd = open("/proc/self/oom_score_adj", O_RDONLY);
  printf("oom_score_adj %.*s", (int)read(rd, now, sizeof now - 1), now);
  /* readv/writev: a lone segment is cut to MAX_RW_COUNT before access_ok */
  /* (a buffer far below the top: the stack may lie within MAX_RW_COUNT of it) */
  static char low[16];
  struct iovec { void *base; unsigned long len; } huge = { low, 0x7fffffffffffffffUL }, two[2] = { { low, 1 }, { low, 0x7ffffffffffffff0UL } };
  T("writev 1 huge segment", SYS_writev, nfd, &huge, 1);
  T("writev 2 huge segments", SYS_writev, nfd, two, 2);
  return 0;
}
