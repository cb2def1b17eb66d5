/* HOSTILE (run only under umk, from hostile_fork_vfork_kill_parent.sh): M
 * vforks C, C sleeps in the kernel, and M is killed. Killing M kills its
 * host process, under C, whose next switch to guest code stores RESUME over
 * the slot's DEAD and then waits for a stop that never comes: C never ends,
 * M stays blocked in vfork, and nobody can reap M (umk never exits). Linux
 * reaps M at once (and C lives on). Passes when M is reaped. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  pid_t m = fork();
  if (m == 0) {
    pid_t c = vfork();
    if (c == 0) {
      struct timespec ts = { 1, 0 };
      nanosleep(&ts, NULL);
      _exit(5);
    }
    _exit(6);
  }
  usleep(300000);
  kill(m, SIGKILL);
  int st = -1;
  waitpid(m, &st, 0);
  printf("M: status %#x\n", st);
  if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) { printf("FAIL\n"); return 1; }
  sleep(2); /* C ends too, one way or the other */
  printf("PASS\n");
  return 0;
}
