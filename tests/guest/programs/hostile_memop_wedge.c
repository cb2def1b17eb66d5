/* HOSTILE (run only under umk; from the red-team review): a guest thread
 * keeps overwriting its sibling's slot command with UMK_CMD_NONE while the
 * sibling maps memory, so the stub never runs the kernel's memory op and
 * goes back to guest code. The kernel, waiting for the op with the address
 * space's locks held, must not stay stuck: the hostile process is killed
 * within the op's deadline, and another process reading its
 * /proc/PID/status (which takes those locks) finishes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOT0_COMMAND 0x7fff4001000cUL

static void *overwrite(void *arg) {
  (void)arg;
  volatile unsigned *command = (volatile unsigned *)SLOT0_COMMAND;
  for (;;) *command = 0;
  return NULL;
}

static void hostile(void) {
  pthread_t t;
  pthread_create(&t, NULL, overwrite, NULL);
  for (;;) {
    register long rax __asm__("rax") = 9; /* mmap(0, 4096, RW, PRIVATE|ANON, -1, 0) */
    register long rdi __asm__("rdi") = 0, rsi __asm__("rsi") = 4096, rdx __asm__("rdx") = 3;
    register long r10 __asm__("r10") = MAP_PRIVATE | MAP_ANONYMOUS, r8 __asm__("r8") = -1, r9 __asm__("r9") = 0;
    __asm__ volatile("syscall" : "+r"(rax) : "r"(rdi), "r"(rsi), "r"(rdx), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
    if (rax == 9) /* the op was skipped: the kernel may still wait for it */
      for (;;) __asm__ volatile("pause");
  }
}

int main(void) {
  pid_t h = fork();
  if (h == 0) hostile();
  sleep(1);
  pid_t r = fork();
  if (r == 0) {
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/status", h);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) (void)!read(fd, buf, sizeof buf);
    _exit(0);
  }
  int st, done = 0;
  for (int i = 0; i < 50 && !done; i++) {
    usleep(100000);
    done = waitpid(r, &st, WNOHANG) == r;
  }
  printf("reader finished within 5 s: %s\n", done ? "yes" : "no");
  kill(h, SIGKILL);
  waitpid(h, &st, 0);
  if (!done) {
    kill(r, SIGKILL);
    printf("FAIL\n");
    return 1;
  }
  printf("PASS\n");
  return 0;
}
