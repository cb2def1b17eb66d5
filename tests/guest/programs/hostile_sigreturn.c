/* HOSTILE (run only under umk, from hostile_sigreturn.sh): a forged
 * rt_sigreturn. A fake signal frame (ucontext) on the stack blocks every
 * signal (SIGSYS included) and resumes at `forged_target` with rax=39
 * (getpid): a `syscall` followed by exit_group(77).
 *   PROG guest: issue rt_sigreturn (15) from guest code. umk traps it
 *     (ENOSYS for now: prints "RESULT -38", exits 0); a correct emulation
 *     resumes at forged_target and exits 77. Either is fine.
 *   PROG stub: jump to a `syscall` inside the stub's text with rax=15 and
 *     rsp at the forged frame: the stub's filter lets rt_sigreturn through,
 *     so the host restores the forged context; the getpid at forged_target
 *     (outside the stub) traps with SIGSYS blocked, so the host kills the
 *     guest process: umk must report a signal status. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "stub_syscall.h"

void forged_target(void);
__asm__(".text\n.globl forged_target\nforged_target:\n"
        "  syscall\n"                   /* rax=39: getpid */
        "  mov $231, %eax\n  mov $77, %edi\n  syscall\n" /* exit_group(77) */
        "  ud2\n");

static unsigned char frame_area[16384] __attribute__((aligned(64)));
static unsigned char resume_stack[16384] __attribute__((aligned(64)));

int main(int argc, char **argv) {
  int stub = argc > 1 && strcmp(argv[1], "stub") == 0;
  /* the kernel reads the ucontext at rsp (the frame's pretcode is at rsp-8) */
  ucontext_t *uc = (ucontext_t *)(frame_area + 4096);
  memset(frame_area, 0, sizeof frame_area);
  uc->uc_flags = 0;
  uc->uc_stack.ss_flags = SS_DISABLE;
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)forged_target;
  uc->uc_mcontext.gregs[REG_RAX] = 39;
  uc->uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)(resume_stack + sizeof resume_stack - 64);
  uc->uc_mcontext.gregs[REG_EFL] = 0x202;
  uc->uc_mcontext.gregs[REG_CSGSFS] = 0x33 | (0x2bL << 48); /* cs, ss */
  uc->uc_mcontext.fpregs = NULL;
  memset(&uc->uc_sigmask, 0xff, sizeof uc->uc_sigmask); /* block everything */

  const unsigned char *sc = NULL;
  if (stub) {
    sc = find_stub_syscall();
    printf("stub syscall at %p\n", (const void *)sc);
  }
  printf("forging rt_sigreturn (%s)\n", stub ? "stub" : "guest");
  fflush(stdout);

  long rax = 15;
  if (stub) {
    __asm__ volatile("mov %[f], %%rsp\n  jmp *%[t]"
                     : : [f] "r"(uc), [t] "r"(sc), "a"(rax) : "memory");
    __builtin_unreachable();
  }
  __asm__ volatile("mov %%rsp, %%r12\n  mov %[f], %%rsp\n  syscall\n  mov %%r12, %%rsp"
                   : "+a"(rax)
                   : [f] "r"(uc)
                   : "rcx", "r11", "r12", "memory");
  printf("RESULT %ld\n", rax);
  return 0;
}
