/* HOSTILE (run only under umk, from hostile_fork_dual_exec.sh): two threads
 * call execve at the same moment. Linux lets one win (de_thread) and the
 * other dies with the old image; umk's kill_other_threads has each wait for
 * the other to leave, forever, and the process can then never end (not even
 * by SIGKILL), nor can umk. The race runs in a child; the parent expects
 * the child to become /bin/true (status 0) and prints PASS. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_barrier_t barrier;

static void *exec_true(void *arg) {
  (void)arg;
  pthread_barrier_wait(&barrier);
  char *argv[] = { "/bin/true", NULL };
  execv("/bin/true", argv);
  return NULL;
}

int main(void) {
  for (int round = 0; round < 3; round++) {
    pid_t c = fork();
    if (c == 0) {
      pthread_barrier_init(&barrier, NULL, 3);
      pthread_t a, b;
      pthread_create(&a, NULL, exec_true, NULL);
      pthread_create(&b, NULL, exec_true, NULL);
      pthread_barrier_wait(&barrier);
      pause();
      _exit(9);
    }
    int st = -1;
    waitpid(c, &st, 0);
    printf("round %d: status %#x\n", round, st);
    if (st != 0) { printf("FAIL\n"); return 1; }
  }
  printf("PASS\n");
  return 0;
}
