/* HOSTILE (run only under umk): one thread calls sched_getaffinity on the
 * tid of a thread that is exiting. sched.cpp's thread_by_tid() returned a
 * Thread* found under signal_lock() and used it after dropping the lock;
 * the exiting thread's context (and then the Thread) were freed meanwhile
 * and umk died with SIGSEGV in sys_sched_getaffinity. The same pattern is
 * in sched_setaffinity, sched_setscheduler/getscheduler and ptrace
 * (find_task, `Thread& tracee = *link->thread`). Passes when umk survives. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int current_tid;
static volatile int stop;

static void *short_lived(void *arg) {
  (void)arg;
  current_tid = (int)syscall(SYS_gettid);
  return NULL;
}

static void *prober(void *arg) {
  (void)arg;
  cpu_set_t set;
  while (!stop) {
    int tid = current_tid;
    if (tid) {
      sched_getaffinity(tid, sizeof set, &set);
      sched_getaffinity(tid + 1, sizeof set, &set);
      int policy = sched_getscheduler(tid);
      (void)policy;
    }
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_t p;
  pthread_create(&p, NULL, prober, NULL);
  for (int i = 0; i < 5000; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, short_lived, NULL)) continue;
    pthread_join(t, NULL);
  }
  stop = 1;
  pthread_join(p, NULL);
  printf("PASS\n");
  return 0;
}
