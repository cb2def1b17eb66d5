/* HOSTILE (run only under umk; static, non-PIE): the kernel takes a new
 * thread's host tid from its creator's slot (clone_result), which guest
 * threads can write. A second thread keeps writing 1 there while we create
 * a thread: the kernel then files host tid 1 -- the umk kernel itself, pid
 * 1 of the stubs' pid namespace -- as that thread's. When our main thread
 * exits, the kernel reads and writes "our" memory through that tid with
 * process_vm_readv/writev, i.e. its own memory. The thread probes for the
 * kernel's PIE image with pwrite (read-only accesses) and sends 64 bytes
 * of it to our child through a pipe. A thread with a wrong host tid cannot
 * be interrupted, which tells us the forgery won. Passes when the forgery
 * never gives us memory we do not have (exit 0). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "platform/seccomp_trap/layout.h"

#include <stddef.h>

#define SLOT0_CLONE_RESULT \
  ((volatile int32_t *)(UMK_CTL_BASE + UMK_SLOT_OFFSET + offsetof(struct umk_thread_slot, clone_result)))
static volatile int spinning, handled, main_gone;
static int probe_fd, report_fd;

static void *spinner(void *arg) { (void)arg; while (spinning) *SLOT0_CLONE_RESULT = 1; return NULL; }
static void on_usr1(int s) { (void)s; handled = 1; }
/* Reads one byte at `addr` through the kernel's copy-in; no copy-out. */
static long probe(uint64_t addr) { return syscall(SYS_pwrite64, probe_fd, (void *)addr, 1L, 0L); }

static void *reader(void *arg) {
  (void)arg;
  while (!handled && !main_gone) ;
  if (handled) return NULL; /* interrupted: the kernel has our real tid */
  /* Wait until the kernel stops reading our memory (our image at 0x400000). */
  long tries = 0;
  while (probe(0x400000) == 1 && tries++ < 2000000) syscall(SYS_sched_yield);
  uint64_t found = 0;
  if (tries < 2000000) {
    for (uint64_t a = 0x555555554000UL; a < 0x565555554000UL; a += 0x40000)
      if (probe(a) == 1) { found = a; break; }
    if (found) {
      while (probe(found - 4096) == 1) found -= 4096;
      syscall(SYS_write, report_fd, (void *)found, 64L);
    }
  }
  syscall(SYS_close, report_fd);
  syscall(SYS_wait4, -1, NULL, 0, NULL);
  syscall(SYS_exit_group, found ? 1 : 0);
  return NULL;
}

int main(void) {
  int p[2];
  if (pipe(p)) return 2;
  pid_t c = fork();
  if (c == 0) {
    close(p[1]);
    unsigned char buf[64];
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n >= 4 && memcmp(buf, "\177ELF", 4) == 0) {
      printf("FAIL: read the umk kernel's memory (its ELF header)\n");
      return 1;
    }
    if (n > 0) { printf("FAIL: read %zd bytes the guest never mapped\n", n); return 1; }
    return 0;
  }
  close(p[0]);
  report_fd = p[1];
  probe_fd = open("/dev/shm/hostile_fork_probe", O_RDWR | O_CREAT, 0600);
  if (probe_fd < 0) return 2;
  signal(SIGUSR1, on_usr1);
  for (int attempt = 0; attempt < 20; attempt++) {
    spinning = 1;
    handled = 0;
    pthread_t s, t;
    if (pthread_create(&s, NULL, spinner, NULL)) return 2;
    for (volatile int i = 0; i < 1000000; i++) ;
    int made = pthread_create(&t, NULL, reader, NULL);
    spinning = 0;
    pthread_join(s, NULL);
    if (made) continue; /* refused: fine */
    pthread_kill(t, SIGUSR1);
    struct timespec ts = { 0, 100000000 };
    nanosleep(&ts, NULL);
    if (handled) { pthread_join(t, NULL); continue; }
    /* Not interrupted: drop the pending SIGUSR1 and leave. */
    signal(SIGUSR1, SIG_IGN);
    printf("attempt %d: the new thread looks misfiled; the main thread exits\n", attempt);
    fflush(stdout);
    main_gone = 1;
    syscall(SYS_exit, 0);
  }
  close(p[1]);
  int st;
  waitpid(c, &st, 0);
  printf("PASS\n");
  return 0;
}
