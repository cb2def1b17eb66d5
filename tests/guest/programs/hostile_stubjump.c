/* HOSTILE (run only under umk, from hostile_stubjump.sh): find a `syscall`
 * instruction (0f 05) inside the umk stub's text at [0x7fff00001000,
 * 0x7fff00003000) and jump to it with rax=9 (mmap). The guest must be killed
 * or get an error; the kernel must survive. Prints "RESULT <rax>" if the call
 * returns. Exit status: 0 if the call returned an error, 1 if it "succeeded".
 * (Natively nothing is mapped there.) */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  const unsigned char *lo = (const unsigned char *)0x7fff00001000UL;
  const unsigned char *hi = (const unsigned char *)0x7fff00003000UL;
  const unsigned char *sc = NULL;
  for (const unsigned char *p = lo; p + 1 < hi; p++)
    if (p[0] == 0x0f && p[1] == 0x05) { sc = p; break; }
  if (!sc) { printf("no syscall instruction found\n"); return 2; }
  printf("syscall at %p\n", (const void *)sc);
  fflush(stdout);
  /* mmap(0x10000000, 4096, RWX, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
   * issued from the stub's own syscall instruction. The `call` pushes a return
   * address; after the syscall the stub code continues at whatever follows, so
   * we are not guaranteed to come back — that's fine. */
  register long rax __asm__("rax") = 9;
  register long rdi __asm__("rdi") = 0x10000000;
  register long rsi __asm__("rsi") = 4096;
  register long rdx __asm__("rdx") = 7;
  register long r10 __asm__("r10") = 0x32;
  register long r8 __asm__("r8") = -1;
  register long r9 __asm__("r9") = 0;
  __asm__ volatile("call *%[t]"
                   : "+r"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                   : [t] "r"(sc)
                   : "rcx", "r11", "memory");
  printf("RESULT %ld\n", rax);
  return (rax < 0 && rax > -4096) ? 0 : 1;
}
