/* HOSTILE (run only under umk): /proc/1/environ must never show the host's
 * init environment. Either it is unreadable, or (guest is pid 1) it is
 * exactly this process's own initial environment. (Natively pid 1 is the
 * host's init: not comparable.) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
extern char **environ;
int main(void) {
  static char got[65536], want[65536];
  size_t wl = 0;
  for (char **e = environ; *e; e++) {
    size_t l = strlen(*e) + 1;
    if (wl + l > sizeof want) return 2;
    memcpy(want + wl, *e, l);
    wl += l;
  }
  int fd = open("/proc/1/environ", O_RDONLY);
  if (fd < 0) { printf("open failed errno=%d (acceptable)\nPASS\n", errno); return 0; }
  size_t gl = 0;
  ssize_t n;
  while ((n = read(fd, got + gl, sizeof got - gl)) > 0) gl += n;
  int rerr = errno;
  close(fd);
  if (n < 0) { printf("read failed errno=%d (acceptable)\nPASS\n", rerr); return 0; }
  printf("getpid=%d environ bytes got=%zu want=%zu\n", getpid(), gl, wl);
  if (gl != wl || memcmp(got, want, wl) != 0) {
    printf("FAIL: /proc/1/environ is not this guest's own environment\n");
    return 1;
  }
  printf("PASS\n");
  return 0;
}
