/* HOSTILE (run only under umk): the legacy 32-bit syscall gate `int $0x80`
 * must not reach the host kernel; umk must answer -ENOSYS in eax.
 * (Natively the host kernel would service it as ia32 getpid, so this cannot
 * be compared against a native run.) */
#include <stdio.h>
int main(void) {
  long ret = 20; /* ia32 __NR_getpid */
  __asm__ volatile("int $0x80" : "+a"(ret) : : "memory", "rcx", "r11");
  printf("int80 getpid -> %ld\n", ret);
  if ((int)ret != -38) { printf("FAIL: expected -38 (ENOSYS)\n"); return 1; }
  printf("PASS\n");
  return 0;
}
