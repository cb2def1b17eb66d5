/* HOSTILE (run only under umk): timer_settime races timer_delete on the
 * same POSIX timer. sys_timer_settime checked exists(id) and then called
 * ProcessTimers::set(), whose m_timers[key] re-created the deleted timer
 * with a default KernelTimer: armed, notify on, and a zeroed siginfo, so it
 * fired "signal 0" (send_signal indexes m_sigactions[signo - 1], i.e. [-1],
 * the rlimits next to it; sigbit(0) shifts by -1), and it outlived the
 * 4096-timer cap. Linux: a deleted timer id is EINVAL. Passes when no
 * deleted timer comes back. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile int go, deleted;
static int victim_id;

static void *deleter(void *arg) {
  (void)arg;
  while (!go) {
  }
  syscall(SYS_timer_delete, victim_id);
  deleted = 1;
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGUSR1, SIG_IGN);
  int phantoms = 0;
  for (int round = 0; round < 3000 && phantoms < 3; round++) {
    struct sigevent ev = { 0 };
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    int id;
    if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id)) {
      perror("timer_create");
      return 1;
    }
    victim_id = id;
    go = 0;
    deleted = 0;
    pthread_t th;
    pthread_create(&th, NULL, deleter, NULL);
    struct itimerspec its = { { 0, 200000 }, { 0, 200000 } };
    go = 1;
    while (!deleted)
      syscall(SYS_timer_settime, id, 0, &its, NULL);
    pthread_join(th, NULL);
    if (syscall(SYS_timer_settime, id, 0, &its, NULL) == 0) {
      phantoms++;
      printf("round %d: timer %d came back after timer_delete\n", round, id);
      syscall(SYS_timer_delete, id);
    }
  }
  if (phantoms) {
    printf("FAIL: deleted timers came back\n");
    return 1;
  }
  printf("PASS\n");
  return 0;
}
