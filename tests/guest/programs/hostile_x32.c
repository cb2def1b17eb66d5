/* HOSTILE (run only under umk): an x32 syscall number (__X32_SYSCALL_BIT |
 * getpid) must return -ENOSYS rather than be forwarded to the host kernel.
 * (Native behaviour depends on whether the host kernel enables x32.) */
#include <stdio.h>
int main(void) {
  long ret = 0x40000000L | 39;
  __asm__ volatile("syscall" : "+a"(ret) : : "memory", "rcx", "r11");
  printf("x32 getpid -> %ld\n", ret);
  if (ret != -38) { printf("FAIL: expected -38 (ENOSYS)\n"); return 1; }
  printf("PASS\n");
  return 0;
}
