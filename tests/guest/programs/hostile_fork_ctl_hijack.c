/* HOSTILE (run only under umk, from hostile_fork_ctl_hijack.sh): forged op
 * results (see hostile_fork_forged_results.c) leave two received fds in the
 * stub, at 1 our own tmpfs file Y. A fork then receives the child's
 * control socket at 0 and its memfd elsewhere, and the child dup3()s fd 1,
 * our file, as its control memfd: its op page is Y's first page, which we
 * wrote beforehand with a clone(CLONE_PARENT|SIGCHLD) op. If the child's
 * op thread runs it, Y's result page shows the host pid it made; the kernel
 * meanwhile waits forever for the child's first stop in the region it
 * prepared. Passes when fork returns, the child exits, and Y's result page
 * was never written. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct result_page { volatile uint32_t done_seq, done_count; volatile int64_t results[32]; };
struct op { uint64_t nr, args[6]; };
struct op_page { volatile uint32_t req_seq, count; struct op ops[32]; };
#define RES ((struct result_page *)0x7fff40001000UL)
#define CTL_SIZE (0x10000UL + 1024 * 0x4000UL)

static volatile char *y;

static void forged_failing_map(int fd) {
  uint32_t seq = RES->done_seq;
  for (int i = 0; i < 3; i++) RES->results[i] = 0;
  RES->done_count = 3;
  __atomic_store_n(&RES->done_seq, seq + 1, __ATOMIC_SEQ_CST);
  mmap((void *)0, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
  usleep(100000);
}

static void *watcher(void *arg) {
  (void)arg;
  struct result_page *child_res = (struct result_page *)(y + 4096);
  for (long i = 0; i < 3000000000L; i++) {
    if (child_res->done_seq == 1) {
      printf("HIJACKED: the child's op thread ran our clone, host pid %ld\n", (long)child_res->results[0]);
      fflush(stdout);
      syscall(SYS_exit_group, 1);
    }
  }
  return NULL;
}

int main(void) {
  int d = open("/dev/shm/hostile_fork_d", O_RDWR | O_CREAT | O_TRUNC, 0600);
  int yfd = open("/dev/shm/hostile_fork_y", O_RDWR | O_CREAT | O_TRUNC, 0600);
  int e = open("/dev/shm/hostile_fork_e", O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (d < 0 || yfd < 0 || e < 0 || ftruncate(d, 4096) || ftruncate(e, 4096) || ftruncate(yfd, CTL_SIZE + 65536)) {
    perror("setup");
    return 2;
  }
  y = mmap(NULL, CTL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, yfd, 0);
  if (y == MAP_FAILED) { perror("map y"); return 2; }
  struct op_page *op = (struct op_page *)y;
  op->count = 1;
  op->ops[0].nr = SYS_clone;
  op->ops[0].args[0] = 0x8011; /* CLONE_PARENT|SIGCHLD */
  op->req_seq = 1;

  forged_failing_map(d);   /* stub fd 0: d */
  forged_failing_map(yfd); /* stub fd 1: y */
  mmap((void *)0, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, e, 0); /* a real failure: the kernel closes fd 0 */

  pthread_t w;
  pthread_create(&w, NULL, watcher, NULL);
  printf("forking\n");
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) _exit(0);
  if (p < 0) printf("fork failed: %s\n", strerror(errno));
  else waitpid(p, NULL, 0);
  usleep(200000);
  if (((struct result_page *)(y + 4096))->done_seq != 0) { printf("FAIL: Y's result page was written\n"); return 1; }
  printf("PASS\n");
  return 0;
}
