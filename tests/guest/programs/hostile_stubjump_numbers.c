/* HOSTILE (run only under umk, from hostile_stubjump_numbers.sh): like
 * hostile_stubjump, but the syscall number is argv[1] and the arguments are
 * chosen to be harmful if the host kernel executed the call directly:
 *   56  clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD,
 *             stack 0): an unsupervised host thread on our stack
 *   257 openat(AT_FDCWD, "/etc/shadow", O_RDONLY)
 *   101 ptrace(PTRACE_ATTACH, 1): in umk's pid namespace host pid 1 is the
 *       umk kernel itself; attaching would SIGSTOP it (umk would hang)
 *   9   mmap(0x7fff00000000, 64K, RWX, MAP_FIXED|MAP_PRIVATE|MAP_ANONYMOUS):
 *       would wipe the stub's own text
 *   60  exit(0), which the stub may issue for itself: this host thread
 *       ends behind the kernel's back (the kernel must notice, not hang)
 *   1056 clone with exactly the flags the stub may use for its threads
 *       (0x250f00) and stack 0: a raw host thread the kernel never made
 * The call jumps to a `syscall` (0f 05) found in the stub's text. Under umk it
 * is trapped and mediated; afterwards the stub code continues at whatever
 * follows (the guest usually dies). If the call comes back, prints
 * "RESULT <rax>" and exits 3. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "stub_syscall.h"
int main(int argc, char **argv) {
  if (argc < 2) { printf("usage: %s NR\n", argv[0]); return 2; }
  long nr = strtol(argv[1], NULL, 10);
  static const char shadow[] = "/etc/shadow";
  long a1, a2, a3 = 0, a4 = 0, a5 = 0, a6 = 0;
  switch (nr) {
  case 56: a1 = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000; a2 = 0; break;
  case 257: a1 = -100; a2 = (long)shadow; a3 = 0; break;
  case 101: a1 = 16 /* PTRACE_ATTACH */; a2 = 1; break;
  case 60: a1 = 0; break;
  case 1056: nr = 56; a1 = 0x250f00; a2 = 0; break;
  case 9: a1 = 0x7fff00000000L; a2 = 0x10000; a3 = 7; a4 = 0x32; a5 = -1; a6 = 0; break;
  default: printf("unsupported number %ld\n", nr); return 2;
  }
  const unsigned char *sc = find_stub_syscall();
  printf("syscall %ld at %p\n", nr, (const void *)sc);
  fflush(stdout);
  register long rax __asm__("rax") = nr;
  register long rdi __asm__("rdi") = a1;
  register long rsi __asm__("rsi") = a2;
  register long rdx __asm__("rdx") = a3;
  register long r10 __asm__("r10") = a4;
  register long r8 __asm__("r8") = a5;
  register long r9 __asm__("r9") = a6;
  register long r12 __asm__("r12") = 0;
  __asm__ volatile("call *%[t]"
                   : "+r"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9), "+r"(r12)
                   : [t] "r"(sc)
                   : "rcx", "r11", "memory");
  printf("RESULT %ld\n", rax);
  return 3;
}
