/* fstatat and statx take a NULL path with AT_EMPTY_PATH (Linux 6.11+),
 * and only then. */
#define _GNU_SOURCE
#include <stdio.h>
#include <fcntl.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
  struct stat st; struct statx sx;
  int fd = open("/etc/hostname", O_RDONLY);
  long r = syscall(SYS_newfstatat, fd, NULL, &st, AT_EMPTY_PATH); printf("fstatat fd NULL EMPTY: %ld %s size_ok=%d\n", r, r ? strerrorname_np(errno) : "", r == 0 && st.st_size > 0);
  r = syscall(SYS_newfstatat, AT_FDCWD, NULL, &st, AT_EMPTY_PATH); printf("fstatat cwd NULL EMPTY: %ld %s dir=%d\n", r, r ? strerrorname_np(errno) : "", r == 0 && S_ISDIR(st.st_mode));
  r = syscall(SYS_newfstatat, fd, NULL, &st, 0); printf("fstatat fd NULL: %ld %s\n", r, r ? strerrorname_np(errno) : "");
  r = syscall(SYS_statx, fd, NULL, AT_EMPTY_PATH, STATX_SIZE, &sx); printf("statx fd NULL EMPTY: %ld %s\n", r, r ? strerrorname_np(errno) : "");
  r = syscall(SYS_statx, fd, NULL, 0, STATX_SIZE, &sx); printf("statx fd NULL: %ld %s\n", r, r ? strerrorname_np(errno) : "");
  return 0;
}
