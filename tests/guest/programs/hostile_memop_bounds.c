/* HOSTILE (run only under umk): the guest filter lets guest threads make
 * mmap/munmap/mprotect/madvise calls from the stub's text (the handler runs
 * the kernel's UMK_CMD_MEMORY_OP there), bounded to guest addresses. This
 * program makes such calls itself, from the stub's `syscall`
 * instruction in umk_clone_thread (`syscall; test %rax,%rax; je ...;
 * pop %r12; ret`, so a non-zero result comes back to us), with ranges that
 * reach the stub's text and control region, and checks that each was
 * refused and changed nothing there; and that a shared mapping of a file
 * opened read-only cannot be made writable that way either (the host fd
 * behind it is read-only). Exits 0 when all were. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stub_syscall.h"

#define STUB_TEXT 0x7fff00001000UL
#define CTL_BASE 0x7fff40000000UL

static const unsigned char *sc;

/* The call from the stub's instruction; the gadget's `pop %r12; ret` takes
 * the return address `call` pushed, then returns to the one pushed
 * before it. Below the red zone, which the compiler may be using. */
static long stub_call(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
  register long rax __asm__("rax") = nr;
  register long rdi __asm__("rdi") = a1;
  register long rsi __asm__("rsi") = a2;
  register long rdx __asm__("rdx") = a3;
  register long r10 __asm__("r10") = a4;
  register long r8 __asm__("r8") = a5;
  register long r9 __asm__("r9") = a6;
  __asm__ volatile("sub $128, %%rsp\n"
                   "lea 1f(%%rip), %%r11\n"
                   "push %%r11\n"
                   "call *%[t]\n"
                   "1: add $128, %%rsp\n"
                   : "+r"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                   : [t] "b"(sc)
                   : "rcx", "r11", "r12", "memory");
  return rax;
}

static sigjmp_buf probe_env;
static void on_fault(int sig) { siglongjmp(probe_env, sig); }

/* 1 if a byte write at `addr` faults. */
static int write_faults(volatile unsigned char *addr) {
  if (sigsetjmp(probe_env, 1))
    return 1;
  *addr = *addr;
  return 0;
}

static int failures;
static void expect(int ok, const char *what) {
  printf("%s: %s\n", ok ? "SAFE" : "FAIL", what);
  failures += !ok;
}

int main(void) {
  sc = find_stub_syscall();
  signal(SIGSEGV, on_fault);
  signal(SIGBUS, on_fault);
  unsigned char text_before = *(volatile unsigned char *)STUB_TEXT;

  long r = stub_call(10 /* mprotect */, STUB_TEXT, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC, 0, 0, 0);
  expect(r < 0 && write_faults((unsigned char *)STUB_TEXT), "mprotect of the stub's text refused");

  r = stub_call(10, CTL_BASE, 0x1000, PROT_READ | PROT_WRITE, 0, 0, 0);
  expect(r < 0 && write_faults((unsigned char *)CTL_BASE), "mprotect of the op page refused");

  /* A guest start with a length of 4 GiB + 8 KiB: its end is in the stub. */
  r = stub_call(9 /* mmap */, 0x7ffdfffff000L, 0x100002000L, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
  expect(r < 0 && *(volatile unsigned char *)STUB_TEXT == text_before, "mmap reaching the stub refused");

  r = stub_call(11 /* munmap */, 0x7ffd00000000L, 0x200000000L, 0, 0, 0, 0);
  expect(r < 0 && *(volatile unsigned char *)STUB_TEXT == text_before, "munmap reaching the stub refused");

  r = stub_call(28 /* madvise */, STUB_TEXT, 0x1000, MADV_DONTNEED, 0, 0, 0);
  expect(r < 0 && *(volatile unsigned char *)STUB_TEXT == text_before, "madvise of the stub's text refused");

  int fd = open("/dev/shm/umk-memop", O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) != 0) {
    perror("/dev/shm/umk-memop");
    return 2;
  }
  fd = open("/dev/shm/umk-memop", O_RDONLY);
  unsigned char *shared = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  unlink("/dev/shm/umk-memop");
  if (shared == MAP_FAILED) {
    perror("mmap");
    return 2;
  }
  r = stub_call(10, (long)shared, 4096, PROT_READ | PROT_WRITE, 0, 0, 0);
  expect(r < 0 && write_faults(shared) && shared[0] == 'x', "a read-only file's shared mapping stays read-only");

  return failures ? 1 : 0;
}
