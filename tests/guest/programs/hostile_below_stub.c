/* HOSTILE (run only under umk, from hostile_below_stub.sh): a `syscall`
 * (0f 05) in the last two bytes of the last guest page, 0x7ffdfffff000, just
 * below umk's TASK_SIZE 0x7ffe00000000. The ip after that syscall is
 * TASK_SIZE, which is outside the stub's text, so the stub's seccomp filter
 * must trap it and umk must answer it as a guest syscall. The call is
 * exit(42) (rax=60, rdi=42): mediated, the guest exits 42 and umk reports 42;
 * executed raw by the host, the stub thread would vanish behind umk's back.
 * First checks that the page above (TASK_SIZE itself) cannot be mapped
 * (ENOMEM). Exit status: 42 = pass (via the stub trap), anything else = fail;
 * prints "jumping" just before the jump. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#define TASK_SIZE 0x7ffe00000000UL
int main(void) {
  long r = syscall(SYS_mmap, TASK_SIZE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (r != -1 || errno != ENOMEM) {
    printf("FAIL: mmap MAP_FIXED at TASK_SIZE: r=%#lx errno=%d (want ENOMEM)\n", r, errno);
    return 10;
  }
  printf("mmap at TASK_SIZE: ENOMEM\n");
  unsigned char *page = (unsigned char *)(TASK_SIZE - 4096);
  void *p = mmap(page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (p != page) { printf("FAIL: mmap last guest page: %p errno=%d\n", p, errno); return 11; }
  memset(page, 0xcc, 4096); /* int3 everywhere else */
  page[4094] = 0x0f;
  page[4095] = 0x05;
  printf("jumping\n");
  fflush(stdout);
  register long rax __asm__("rax") = 60; /* exit */
  register long rdi __asm__("rdi") = 42;
  __asm__ volatile("jmp *%[t]" : : [t] "r"(page + 4094), "r"(rax), "r"(rdi) : "memory");
  __builtin_unreachable();
}
