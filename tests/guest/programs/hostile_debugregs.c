/* HOSTILE (run only under umk): a debugger's hardware breakpoints must
 * stay on guest code and data. Above the guest's TASK_SIZE live the stub's
 * text, control pages and signal stacks (Linux would take these user
 * addresses): DR0-DR3 there are EINVAL, so no watchpoint can fire inside
 * the stub. A watchpoint on the guest's stack, which the kernel writes
 * for signal frames, and on a futex word the stub changes, traps only
 * for guest instructions; the child finishes normally. Exit 0 on success. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include "guest_test.h"

static volatile int word;
static int other;
static volatile sig_atomic_t handled;
static void on_usr1(int s) { (void)s; handled++; }

int main(void)
{
    reset_signals();
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t child = fork();
    if (child == 0) {
        signal(SIGUSR1, on_usr1);
        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        raise(SIGSTOP);
        for (int i = 0; i < 3; i++) {
            syscall(SYS_futex, &other, FUTEX_WAKE_OP, 0, NULL, &word, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0));
            raise(SIGUSR1); /* a signal frame on the watched stack */
        }
        _exit(handled == 3 && word == 3 ? 0 : 1);
    }
    int st, failures = 0;
    waitpid(child, &st, 0);
    static const unsigned long kStubAddresses[] = { 0x7ffe00000000UL, 0x7fff00000000UL, 0x7fff80000000UL, 0x7ffffffff000UL - 8 };
    for (unsigned i = 0; i < sizeof kStubAddresses / sizeof kStubAddresses[0]; i++) {
        long r = ptrace(PTRACE_POKEUSER, child, offsetof(struct user, u_debugreg), kStubAddresses[i]);
        if (r != -1 || errno != EINVAL) {
            printf("FAIL: DR0 = %#lx accepted\n", kStubAddresses[i]);
            failures++;
        }
    }
    /* DR0: 8 bytes of the stack below the child's, DR1: the futex word */
    struct user_regs_struct regs;
    ptrace(PTRACE_GETREGS, child, NULL, &regs);
    ptrace(PTRACE_POKEUSER, child, offsetof(struct user, u_debugreg), (regs.rsp - 512) & ~7UL);
    ptrace(PTRACE_POKEUSER, child, offsetof(struct user, u_debugreg) + 8, (unsigned long)&word);
    if (ptrace(PTRACE_POKEUSER, child, offsetof(struct user, u_debugreg) + 56, 0xd90005UL) != 0) {
        printf("FAIL: DR7: %s\n", strerror(errno));
        failures++;
    }
    int traps = 0, pass = 0;
    for (;;) {
        ptrace(PTRACE_CONT, child, NULL, pass);
        waitpid(child, &st, 0);
        if (!WIFSTOPPED(st))
            break;
        pass = WSTOPSIG(st) == SIGTRAP ? 0 : WSTOPSIG(st);
        traps += WSTOPSIG(st) == SIGTRAP;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        printf("FAIL: child ended with status %#x\n", st);
        failures++;
    }
    printf("%d stack-watch traps from guest code\n", traps);
    if (failures == 0)
        printf("ok\n");
    return failures ? 1 : 0;
}
