/* Hardware debug registers through ptrace, as gdb uses them (PEEKUSR/
 * POKEUSR at u_debugreg): initial values, write and read/write watchpoints
 * with SIGTRAP TRAP_HWBKPT and DR6, an execute breakpoint that does not
 * fire again on resume, DR6's BS bit after a single step, the values Linux
 * refuses (EINVAL, EIO for DR4/DR5), no trap for the kernel's own access
 * (FUTEX_WAKE_OP), and all cleared by execve. Compared with Linux. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include "guest_test.h"

static volatile int watched;
static volatile int futex_word;
static int other_futex;

__attribute__((noinline)) static int target(int x)
{
    asm volatile("" ::: "memory");
    return x * 3;
}

static pid_t child;

static long dr_offset(int n) { return offsetof(struct user, u_debugreg) + 8 * n; }

static unsigned long peek_dr(int n)
{
    errno = 0;
    return (unsigned long)ptrace(PTRACE_PEEKUSER, child, dr_offset(n), NULL);
}

static const char* poke_dr(int n, unsigned long value)
{
    long r = ptrace(PTRACE_POKEUSER, child, dr_offset(n), value);
    return res(r, errno);
}

/* Resumes the child; describes its next stop. */
static void cont_and_report(const char* what, int request)
{
    ptrace(request, child, NULL, NULL);
    int st;
    waitpid(child, &st, 0);
    if (WIFEXITED(st)) {
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
        return;
    }
    siginfo_t si;
    ptrace(PTRACE_GETSIGINFO, child, NULL, &si);
    struct user_regs_struct regs;
    ptrace(PTRACE_GETREGS, child, NULL, &regs);
    const char* where = regs.rip == (unsigned long)target ? "at target" : "elsewhere";
    printf("%s: stop %s code %d, si_addr is the ip: %s, %s, DR6 %#lx\n", what, sigabbrev_np(WSTOPSIG(st)),
           si.si_code, (unsigned long)si.si_addr == regs.rip ? "yes" : "no", where, peek_dr(6));
}

static void child_main(void)
{
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    raise(SIGSTOP);
    watched = 1;          /* write watchpoint */
    int v = watched;      /* read/write watchpoint */
    watched = v + 1;
    v = target(v) + target(v); /* execute breakpoint, twice */
    /* the kernel's write to a watched word (FUTEX_WAKE_OP) does not trap */
    syscall(SYS_futex, &other_futex, FUTEX_WAKE_OP, 0, NULL, &futex_word, FUTEX_OP(FUTEX_OP_SET, 7, FUTEX_OP_CMP_EQ, 0));
    raise(SIGSTOP);
    execl("/bin/true", "true", (char*)NULL);
    _exit(v == 0 ? 2 : 3);
}

int main(void)
{
    reset_signals();
    setvbuf(stdout, NULL, _IOLBF, 0);
    child = fork();
    if (child == 0)
        child_main();
    int st;
    waitpid(child, &st, 0);

    printf("initial: DR0 %#lx DR6 %#lx DR7 %#lx\n", peek_dr(0), peek_dr(6), peek_dr(7));
    printf("poke DR4: %s, DR5: %s\n", poke_dr(4, 0), poke_dr(5, 0));
    printf("peek DR4: %#lx\n", peek_dr(4));

    /* refused settings */
    printf("DR0 kernel address: %s\n", poke_dr(0, 0xffff800000000000UL));
    printf("DR0 = &watched: %s\n", poke_dr(0, (unsigned long)&watched));
    printf("DR7 I/O breakpoint: %s\n", poke_dr(7, 0x20001));
    printf("DR7 execute with a length: %s\n", poke_dr(7, 0x40001));
    printf("DR1 = odd address: %s\n", poke_dr(1, (unsigned long)&watched + 1));
    printf("DR7 4-byte watch of an odd address: %s\n", poke_dr(7, 0xd00004));
    printf("DR7 after the refusals: %#lx\n", peek_dr(7));

    /* DR0: 4-byte write watchpoint */
    printf("DR7 write watch: %s\n", poke_dr(7, 0xd0001));
    printf("DR7 reads %#lx\n", peek_dr(7));
    cont_and_report("write", PTRACE_CONT);
    printf("watched = %ld\n", ptrace(PTRACE_PEEKDATA, child, &watched, NULL) & 0xffffffff);
    poke_dr(6, 0);
    /* now read/write, and DR1 on target's entry (execute, length bits 0) */
    printf("DR1 = target: %s\n", poke_dr(1, (unsigned long)target));
    printf("DR7 access watch + execute: %s\n", poke_dr(7, 0xf0005));
    cont_and_report("read", PTRACE_CONT);
    cont_and_report("write again", PTRACE_CONT);
    cont_and_report("execute", PTRACE_CONT);
    cont_and_report("single step", PTRACE_SINGLESTEP);
    cont_and_report("execute again", PTRACE_CONT);
    printf("disable: %s\n", poke_dr(7, 0));
    printf("DR0 still %s, DR1 still %s\n", peek_dr(0) == (unsigned long)&watched ? "set" : "changed",
           peek_dr(1) == (unsigned long)target ? "set" : "changed");
    /* DR2: write watch of the futex word the kernel writes */
    poke_dr(2, (unsigned long)&futex_word);
    printf("DR7 futex word watch: %s\n", poke_dr(7, 0xd000010));
    cont_and_report("futex", PTRACE_CONT);
    printf("futex word = %ld\n", ptrace(PTRACE_PEEKDATA, child, &futex_word, NULL) & 0xffffffff);
    cont_and_report("exec", PTRACE_CONT);
    printf("after exec: DR0 %#lx DR2 %#lx DR6 %#lx DR7 %#lx\n", peek_dr(0), peek_dr(2), peek_dr(6), peek_dr(7));
    cont_and_report("end", PTRACE_CONT);
    return 0;
}
