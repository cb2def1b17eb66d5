/* HOSTILE (run only under umk): /proc/self/mem is umk's, over the guest's
 * own address space: it reads and writes our memory (a debugger's forced
 * write even into read-only text), and nothing at or above the guest's
 * TASK_SIZE (the stub's text, control region, signal stacks) is reachable.
 * Natively it reads the host process, so the test runs only under umk. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static volatile unsigned long word = 0x1111;
static const unsigned long constant = 0x2222;

int main(void) {
  const char *paths[] = {"/proc/self/mem", "/proc/1/mem"};
  int bad = 0;
  for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++) {
    int fd = open(paths[i], O_RDWR);
    if (fd < 0) { printf("%s: open errno=%d\n", paths[i], errno); bad = 1; continue; }
    unsigned long v = 0x3333, got = 0;
    ssize_t w = pwrite(fd, &v, 8, (off_t)(unsigned long)&word);
    ssize_t r = pread(fd, &got, 8, (off_t)(unsigned long)&constant);
    /* forced write into read-only data, as ptrace's POKEDATA */
    unsigned long c = 0x4444;
    ssize_t wc = pwrite(fd, &c, 8, (off_t)(unsigned long)&constant);
    const unsigned long high[] = {0x7fff00000000UL, 0x7fff00001000UL, 0x7fff40000000UL, 0x7fff80000000UL,
                                  0x7ffe00000000UL};
    int escaped = 0;
    for (unsigned j = 0; j < sizeof high / sizeof *high; j++) {
      unsigned long x;
      errno = 0;
      if (pread(fd, &x, 8, (off_t)high[j]) != -1 || errno != EIO) escaped = 1;
      if (pwrite(fd, &x, 8, (off_t)high[j]) != -1) escaped = 1;
    }
    printf("%s: write=%zd word=%#lx read=%zd got=%#lx forced=%zd constant=%#lx escaped=%d\n", paths[i], w, word, r,
           got, wc, *(volatile const unsigned long*)&constant, escaped);
    if (w != 8 || word != 0x3333 || r != 8 || (got != 0x2222 && got != 0x4444) || wc != 8 || escaped) bad = 1;
    word = 0x1111;
    close(fd);
  }
  if (bad) { printf("FAIL\n"); return 1; }
  printf("PASS\n");
  return 0;
}
