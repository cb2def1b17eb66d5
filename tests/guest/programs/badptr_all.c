/* Every pointer argument of many syscalls given (void*)1 (all other arguments
 * valid); prints "name ret errno" per call, issued raw via syscall(2) so libc
 * (and the vDSO) do not interpose. Compared native vs umk. (write((void*)1)
 * to /dev/null is in badptr.c.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define BAD ((void *)1)
#define T(name, ...) do { errno = 0; long r = syscall(__VA_ARGS__); \
    printf("%s %ld %d\n", name, r, r < 0 ? errno : 0); fflush(stdout); } while (0)

int main(void) {
  int fd = open("/etc/passwd", O_RDONLY);
  int dfd = open("/etc", O_RDONLY | O_DIRECTORY);
  char tmpl[] = "/tmp/umk-badptr-all-XXXXXX";
  int tfd = mkstemp(tmpl);
  if (fd < 0 || dfd < 0 || tfd < 0) { printf("setup failed\n"); return 1; }
  close(tfd);
  int wfd = open(tmpl, O_WRONLY);
  if (wfd < 0) { printf("setup failed\n"); return 1; }
  struct iovec badbase = { BAD, 10 };
  struct stat st;
  char sx[256];
  char buf[256];

  T("read", SYS_read, fd, BAD, 10);
  T("write", SYS_write, wfd, BAD, 10);
  T("pread64", SYS_pread64, fd, BAD, 10, 0);
  T("pwrite64", SYS_pwrite64, wfd, BAD, 10, 0);
  T("readv iov", SYS_readv, fd, BAD, 1);
  T("readv base", SYS_readv, fd, &badbase, 1);
  T("writev iov", SYS_writev, wfd, BAD, 1);
  T("writev base", SYS_writev, wfd, &badbase, 1);
  T("stat path", SYS_stat, BAD, &st);
  T("stat buf", SYS_stat, "/etc/passwd", BAD);
  T("lstat path", SYS_lstat, BAD, &st);
  T("lstat buf", SYS_lstat, "/etc/passwd", BAD);
  T("newfstatat path", SYS_newfstatat, AT_FDCWD, BAD, &st, 0);
  T("newfstatat buf", SYS_newfstatat, AT_FDCWD, "/etc/passwd", BAD, 0);
  T("statx path", SYS_statx, AT_FDCWD, BAD, 0, 0x7ff /*STATX_BASIC_STATS*/, sx);
  T("statx buf", SYS_statx, AT_FDCWD, "/etc/passwd", 0, 0x7ff, BAD);
  T("fstat buf", SYS_fstat, fd, BAD);
  T("readlink path", SYS_readlink, BAD, buf, sizeof buf);
  T("readlink buf", SYS_readlink, "/proc/self/exe", BAD, sizeof buf);
  T("access path", SYS_access, BAD, F_OK);
  T("faccessat path", SYS_faccessat, AT_FDCWD, BAD, F_OK);
  T("getdents64 buf", SYS_getdents64, dfd, BAD, 4096);
  T("getcwd buf", SYS_getcwd, BAD, 4096);
  T("chdir path", SYS_chdir, BAD);
  T("uname buf", SYS_uname, BAD);
  T("clock_gettime ts", SYS_clock_gettime, 0 /*REALTIME*/, BAD);
  T("clock_getres ts", SYS_clock_getres, 0 /*REALTIME*/, BAD);
  T("gettimeofday tv", SYS_gettimeofday, BAD, NULL);
  {
    /* time() returns the time on success: only print whether it failed */
    errno = 0;
    long r = syscall(SYS_time, BAD);
    printf("time tloc %ld %d\n", r < 0 ? r : 0, r < 0 ? errno : 0);
  }
  T("getrandom buf", SYS_getrandom, BAD, 16, 0);
  T("sysinfo buf", SYS_sysinfo, BAD);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  T("prlimit64 new", SYS_prlimit64, 0, RLIMIT_NOFILE, BAD, NULL);
  T("prlimit64 old", SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, BAD);
  T("getrlimit buf", SYS_getrlimit, RLIMIT_NOFILE, BAD);
  T("setrlimit buf", SYS_setrlimit, RLIMIT_NOFILE, BAD);
  T("sched_getaffinity mask", SYS_sched_getaffinity, 0, 128, BAD);
  T("rt_sigaction act", SYS_rt_sigaction, SIGUSR1, BAD, NULL, 8);
  T("rt_sigaction oldact", SYS_rt_sigaction, SIGUSR1, NULL, BAD, 8);
  T("rt_sigprocmask set", SYS_rt_sigprocmask, SIG_BLOCK, BAD, NULL, 8);
  T("rt_sigprocmask oldset", SYS_rt_sigprocmask, SIG_BLOCK, NULL, BAD, 8);
  T("sigaltstack ss", SYS_sigaltstack, BAD, NULL);
  T("sigaltstack oldss", SYS_sigaltstack, NULL, BAD);
  T("arch_prctl ARCH_GET_FS", SYS_arch_prctl, 0x1003 /*ARCH_GET_FS*/, BAD);
  T("getresuid", SYS_getresuid, BAD, BAD, BAD);
  T("getgroups list", SYS_getgroups, 1, BAD);
  T("open path", SYS_open, BAD, O_RDONLY);
  T("openat path", SYS_openat, AT_FDCWD, BAD, O_RDONLY);
  T("execve path", SYS_execve, BAD, NULL, NULL);
  /* names: every path argument, then the other pointer of two-path calls */
  T("mkdir path", SYS_mkdir, BAD, 0700);
  T("mkdirat path", SYS_mkdirat, AT_FDCWD, BAD, 0700);
  T("unlink path", SYS_unlink, BAD);
  T("unlinkat path", SYS_unlinkat, AT_FDCWD, BAD, 0);
  T("rmdir path", SYS_rmdir, BAD);
  T("rename old", SYS_rename, BAD, "/tmp/umk-badptr-x");
  T("rename new", SYS_rename, tmpl, BAD);
  T("renameat2 new", SYS_renameat2, AT_FDCWD, tmpl, AT_FDCWD, BAD, 0);
  T("symlink target", SYS_symlink, BAD, "/tmp/umk-badptr-x");
  T("symlink path", SYS_symlink, "x", BAD);
  T("link old", SYS_link, BAD, "/tmp/umk-badptr-x");
  T("link new", SYS_link, tmpl, BAD);
  T("chmod path", SYS_chmod, BAD, 0600);
  T("fchmodat path", SYS_fchmodat, AT_FDCWD, BAD, 0600);
  T("chown path", SYS_chown, BAD, -1, -1);
  T("lchown path", SYS_lchown, BAD, -1, -1);
  T("fchownat path", SYS_fchownat, AT_FDCWD, BAD, -1, -1, 0);
  T("truncate path", SYS_truncate, BAD, 0);
  T("utimensat path", SYS_utimensat, AT_FDCWD, BAD, NULL, 0);
  T("utimensat times", SYS_utimensat, AT_FDCWD, tmpl, BAD, 0);
  T("statfs path", SYS_statfs, BAD, buf);
  T("statfs buf", SYS_statfs, "/etc", BAD);
  T("fstatfs buf", SYS_fstatfs, fd, BAD);
  T("getxattr path", SYS_getxattr, BAD, "user.x", buf, sizeof buf);
  T("getxattr name", SYS_getxattr, "/etc/passwd", BAD, buf, sizeof buf);
  T("fgetxattr name", SYS_fgetxattr, fd, BAD, buf, sizeof buf);
  T("listxattr path", SYS_listxattr, BAD, buf, sizeof buf);
  {
    /* returns 0 (the kernel only stores the pointer); restore glibc's head */
    void *head = NULL;
    size_t len = 0;
    syscall(SYS_get_robust_list, 0, &head, &len);
    T("set_robust_list head", SYS_set_robust_list, BAD, 24);
    if (head) syscall(SYS_set_robust_list, head, len);
  }
  unlink(tmpl);
  return 0;
}
