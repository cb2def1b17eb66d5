/* HOSTILE (run only under umk): fork "hopping" -- each process forks and
 * exits, so only one or two exist at a time. Every fork child inherits its
 * parent op thread's seccomp filter stack and adds its own op filter, so
 * after ~380 generations the host refuses the next filter and fork fails
 * with EAGAIN (and every trap pays for all the stacked filters). Linux
 * forks forever. Passes when 1000 generations fork. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int p[2];
  if (pipe(p)) return 2;
  pid_t first = fork();
  if (first == 0) {
    close(p[0]);
    for (int depth = 1; depth <= 1000; depth++) {
      pid_t c = fork();
      if (c < 0) {
        dprintf(p[1], "fork failed at generation %d: %s\n", depth, strerror(errno));
        _exit(1);
      }
      if (c > 0) _exit(0);
    }
    dprintf(p[1], "OK\n");
    _exit(0);
  }
  close(p[1]);
  char buf[128] = { 0 };
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  while (wait(NULL) > 0 || errno == EINTR) ;
  printf("%s", n > 0 ? buf : "no answer\n");
  if (strcmp(buf, "OK\n") != 0) { printf("FAIL\n"); return 1; }
  printf("PASS\n");
  return 0;
}
