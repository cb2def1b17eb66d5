/* HOSTILE (run only under umk): FUTEX_WAKE_OP and the PI futexes ask the
 * caller's stub for an atomic op (UMK_CMD_ATOMIC) while holding the
 * kernel-wide FutexTable lock. The slot is guest-writable: a second thread
 * of the caller takes the RESUME meant for the stub (writes RUNNING back),
 * the stub never runs the op, and the caller's task thread waits for a stop
 * forever with the lock held. Every futex call of every other guest process
 * (any uid) then blocks until the attacker is killed. A bystander process
 * counts its FUTEX_WAKE calls meanwhile; passes when it keeps going. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* UMK_CTL_BASE + UMK_SLOT_OFFSET: slot 0, the main thread's. Words: state,
 * stub_sleeping, kernel_sleeping, command. */
#define SLOT0 ((volatile uint32_t *)0x7fff40010000ULL)
enum { RUNNING = 1, RESUME = 4, CMD_ATOMIC = 6 };

static uint32_t word;

static void *steal_resume(void *arg) {
  (void)arg;
  for (;;) {
    if (SLOT0[0] == RESUME && SLOT0[3] == CMD_ATOMIC) {
      SLOT0[0] = RUNNING;
      return NULL;
    }
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  volatile int *progress = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (progress == MAP_FAILED) return 1;
  pid_t bystander = fork();
  if (bystander == 0) {
    uint32_t w = 0;
    for (;;) {
      syscall(SYS_futex, &w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
      __atomic_add_fetch(progress, 1, __ATOMIC_SEQ_CST);
      usleep(100);
    }
  }
  pid_t attacker = fork();
  if (attacker == 0) {
    pthread_t th;
    pthread_create(&th, NULL, steal_resume, NULL);
    for (;;)
      syscall(SYS_futex, &word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &word,
              FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0));
  }
  sleep(2);
  int before = *progress;
  sleep(2);
  int calls = *progress - before;
  printf("bystander futex calls in 2 s: %d\n", calls);
  kill(attacker, SIGKILL);
  waitpid(attacker, NULL, 0);
  kill(bystander, SIGKILL);
  waitpid(bystander, NULL, 0);
  if (calls < 10) {
    printf("FAIL: one process's stalled atomic op blocks every futex call in the guest\n");
    return 1;
  }
  printf("PASS\n");
  return 0;
}
