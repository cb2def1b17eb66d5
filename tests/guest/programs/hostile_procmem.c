/* HOSTILE (run only under umk): /proc/self/mem would give access to the
 * host process's memory (including umk's). Under umk it does not exist, so
 * open must fail with ENOENT. (Natively it opens fine.) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  const char *paths[] = {"/proc/self/mem", "/proc/thread-self/mem", "/proc/1/mem"};
  int bad = 0;
  for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++) {
    errno = 0;
    int fd = open(paths[i], O_RDWR);
    int e = errno;
    if (fd < 0) fd = open(paths[i], O_RDONLY), e = errno;
    printf("%s: fd=%d errno=%d\n", paths[i], fd, fd < 0 ? e : 0);
    if (fd >= 0 || (i == 0 && e != ENOENT)) bad = 1;
  }
  if (bad) { printf("FAIL\n"); return 1; }
  printf("PASS\n");
  return 0;
}
