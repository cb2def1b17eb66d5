/* Debug registers, more edges (from a review), compared with Linux:
 * moving or retyping a breakpoint with all four armed (the host's four
 * slots must not overflow), a watchpoint hit while single-stepping (one
 * SIGTRAP, DR6 = BS|B0), and two registers on one word (DR6 = B0|B1). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#define DR(n) (offsetof(struct user, u_debugreg) + 8 * (n))
static long setdr(pid_t p, int n, unsigned long v) {
    long r = ptrace(PTRACE_POKEUSER, p, DR(n), v);
    return r == 0 ? 0 : -errno;
}
static unsigned long getdr(pid_t p, int n) { return ptrace(PTRACE_PEEKUSER, p, DR(n), 0); }
/* all four DRs armed, then move DR0 / change its type: Linux modifies the event in place */
static long w8[8];
static void modify_all_four(void) {
    pid_t c = fork();
    if (!c) { ptrace(PTRACE_TRACEME, 0, 0, 0); raise(SIGSTOP); _exit(0); }
    int st; waitpid(c, &st, 0);
    for (int i = 0; i < 4; i++) setdr(c, i, (unsigned long)&w8[i]);
    /* 4 x write, len 8 (10b) : RW=01 LEN=10 -> 0x9 per nibble */
    printf("DR7 arm4: %ld\n", setdr(c, 7, 0x99990055UL));
    printf("DR0 move: %ld\n", setdr(c, 0, (unsigned long)&w8[5]));
    printf("DR7 type: %ld\n", setdr(c, 7, 0x999b0055UL));
    printf("DR7 now %#lx DR0 %s\n", getdr(c, 7), getdr(c, 0) == (unsigned long)&w8[5] ? "w5" : "?");
    kill(c, SIGKILL); waitpid(c, &st, 0);
}

/* single-stepping over an instruction that writes a watched word: Linux reports one SIGTRAP with
   DR6 = BS|B0 (gdb's stopped_by_watchpoint reads DR6 after every step) */
static volatile long ws;
static void step_over_watched(void) {
    pid_t c = fork();
    if (!c) { ptrace(PTRACE_TRACEME, 0, 0, 0); raise(SIGSTOP); ws = 1; ws = 2; _exit(0); }
    int st; waitpid(c, &st, 0);
    setdr(c, 0, (unsigned long)&ws);
    setdr(c, 7, 0x000d0001UL);
    int steps = 0, hits = 0;
    for (;;) {
        ptrace(PTRACE_SINGLESTEP, c, 0, 0); waitpid(c, &st, 0);
        if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP) break;
        unsigned long dr6 = getdr(c, 6);
        if (dr6 & 1) { hits++; printf("step: dr6 %#lx\n", dr6); }
        if (++steps > 200000) break;
        if (hits == 2) break;
    }
    printf("watch hits seen in DR6: %d\n", hits);
    kill(c, SIGKILL);
}

/* DR0 and DR1 both watch one word: Linux reports one trap with B0|B1 in DR6 */
static volatile long wm;
static void two_on_one_word(void) {
    pid_t c = fork();
    if (!c) { ptrace(PTRACE_TRACEME, 0, 0, 0); raise(SIGSTOP); wm = 1; wm = 2; _exit(0); }
    int st; waitpid(c, &st, 0);
    setdr(c, 0, (unsigned long)&wm); setdr(c, 1, (unsigned long)&wm);
    printf("DR7: %ld\n", setdr(c, 7, 0x00dd0005UL));
    int traps = 0;
    for (;;) {
        ptrace(PTRACE_CONT, c, 0, 0); waitpid(c, &st, 0);
        if (!WIFSTOPPED(st)) break;
        printf("stop sig %d dr6 %#lx\n", WSTOPSIG(st), getdr(c, 6));
        traps++;
    }
    printf("traps=%d\n", traps);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    modify_all_four();
    step_over_watched();
    two_on_one_word();
    return 0;
}
