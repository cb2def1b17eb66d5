/* clone(CLONE_VM) without CLONE_VFORK or CLONE_THREAD: a second process
 * in the same memory, running at the same time as its parent. Memory
 * (and new mappings) are shared; pids, exit statuses and signals are the
 * process's own; SIGKILL of one leaves the other; one may exit or exec
 * while the other goes on. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int flag, reply;
static volatile char *shared_map;
static char stacks[4][64 * 1024] __attribute__((aligned(16)));

static void wait_for(volatile int *word, int value) {
  for (long i = 0; *word != value; i++)
    if (i % 1000 == 0) usleep(1000);
}

static int concurrent(void *arg) {
  (void)arg;
  flag = 1;             /* the parent runs meanwhile and answers */
  wait_for(&reply, 1);
  shared_map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  strcpy((char *)shared_map, "mapped by the child");
  return getppid() == (pid_t)(long)arg ? 7 : 8;
}

static int sleeper(void *arg) {
  (void)arg;
  for (;;) pause();
  return 0;
}

static int outliver(void *arg) {
  int fd = (int)(long)arg;
  wait_for(&flag, 2); /* its CLONE_VM parent has exited */
  usleep(20000);
  if (write(fd, "alive", 5) != 5) return 1;
  return 0;
}

static int execer(void *arg) {
  (void)arg;
  execl("/bin/sh", "sh", "-c", "exit 5", (char *)NULL);
  return 99;
}

int main(void) {
  int status;
  pid_t me = getpid();

  pid_t c = clone(concurrent, stacks[0] + sizeof stacks[0], CLONE_VM | SIGCHLD, (void *)(long)me);
  if (c < 0) { perror("clone"); return 1; }
  wait_for(&flag, 1);
  reply = 1;
  waitpid(c, &status, 0);
  printf("concurrent child: exited %d status %d, its own pid %s\n", WIFEXITED(status), WEXITSTATUS(status),
         c != me ? "yes" : "no");
  printf("its mapping: %s\n", shared_map ? (const char *)shared_map : "(none)");

  c = clone(sleeper, stacks[1] + sizeof stacks[1], CLONE_VM | SIGCHLD, NULL);
  usleep(10000);
  kill(c, SIGKILL);
  waitpid(c, &status, 0);
  printf("killed child: signaled %d sig %d; parent still here\n", WIFSIGNALED(status), WTERMSIG(status));

  c = clone(execer, stacks[2] + sizeof stacks[2], CLONE_VM | SIGCHLD, NULL);
  waitpid(c, &status, 0);
  printf("exec'ing child: exited %d status %d; memory intact %s\n", WIFEXITED(status), WEXITSTATUS(status),
         shared_map && strcmp((const char *)shared_map, "mapped by the child") == 0 ? "yes" : "no");

  /* A middle process clones a CLONE_VM child and exits before it. */
  int p[2];
  if (pipe(p) != 0) return 1;
  flag = 0;
  pid_t middle = fork();
  if (middle == 0) {
    close(p[0]);
    pid_t child = clone(outliver, stacks[3] + sizeof stacks[3], CLONE_VM | SIGCHLD, (void *)(long)p[1]);
    if (child < 0) _exit(1);
    flag = 2;
    _exit(0);
  }
  close(p[1]);
  waitpid(middle, &status, 0);
  char buf[8] = { 0 };
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  printf("middle exited %d; its CLONE_VM child says: %s\n", WEXITSTATUS(status), n > 0 ? buf : "(nothing)");
  return 0;
}
