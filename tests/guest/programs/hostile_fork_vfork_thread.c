/* HOSTILE (run only under umk, from hostile_fork_vfork_thread.sh): a vfork
 * child (which runs on its parent's host thread, in its parent's stub)
 * makes a thread and exits. The process is "dying", so the thread's task
 * leaves without ending its host thread, and releases the slot: the stub
 * keeps a host thread parked on that slot's signal stack. The parent's next
 * thread reuses the slot and stack, and never starts. Passes when the
 * parent can still make and join threads. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static char stack[65536] __attribute__((aligned(16)));
static int spin(void *arg) { (void)arg; for (;;) ; return 0; }
static void *work(void *arg) { return arg; }

int main(void) {
  pid_t p = vfork();
  if (p == 0) {
    clone(spin, stack + sizeof stack, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM, NULL);
    _exit(7);
  }
  int st = 0;
  waitpid(p, &st, 0);
  printf("vfork child: status %#x\n", st);
  for (long i = 1; i <= 20; i++) {
    pthread_t t;
    void *r = NULL;
    if (pthread_create(&t, NULL, work, (void *)i) || pthread_join(t, &r) || r != (void *)i) { printf("FAIL: thread %ld\n", i); return 1; }
  }
  printf("PASS\n");
  return 0;
}
