/* HOSTILE (run only under umk): the host's terminals must not be reachable;
 * /dev/pts/0 must not exist (ENOENT). (Natively it may exist.) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
int main(void) {
  struct stat st;
  errno = 0;
  int r = stat("/dev/pts/0", &st);
  int e1 = errno;
  errno = 0;
  int fd = open("/dev/pts/0", O_RDWR | O_NOCTTY);
  int e2 = errno;
  printf("stat=%d errno=%d open=%d errno=%d\n", r, e1, fd, e2);
  if (r == 0 || e1 != ENOENT || fd >= 0 || e2 != ENOENT) { printf("FAIL\n"); return 1; }
  printf("PASS\n");
  return 0;
}
