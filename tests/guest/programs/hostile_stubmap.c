/* HOSTILE (run only under umk): the umk stub lives at 0x7fff00000000, above
 * the guest TASK_SIZE (0x7ffe00000000). MAP_FIXED there must fail with ENOMEM
 * and munmap there must fail with EINVAL. (Natively these addresses are
 * ordinary user space.) */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
int main(void) {
  void *addr = (void *)0x7fff00000000UL;
  int bad = 0;
  errno = 0;
  void *p = mmap(addr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  printf("mmap fixed stub: %p errno=%d\n", p, p == MAP_FAILED ? errno : 0);
  if (p != MAP_FAILED || errno != ENOMEM) bad = 1;
  errno = 0;
  p = mmap((void *)0x7ffe00000000UL - 4096, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  printf("mmap fixed straddling TASK_SIZE: %p errno=%d\n", p, p == MAP_FAILED ? errno : 0);
  if (p != MAP_FAILED || errno != ENOMEM) bad = 1;
  errno = 0;
  int r = munmap(addr, 4096);
  printf("munmap stub: %d errno=%d\n", r, r ? errno : 0);
  if (r != -1 || errno != EINVAL) bad = 1;
  errno = 0;
  r = mprotect(addr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
  printf("mprotect stub: %d errno=%d\n", r, r ? errno : 0);
  if (r == 0) bad = 1;
  if (bad) { printf("FAIL\n"); return 1; }
  printf("PASS\n");
  return 0;
}
